package dev.sahara.fuzz;

import dev.sahara.SaharaException;
import dev.sahara.model.SafeTensors;
import dev.sahara.model.TensorData;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/** Any byte string given to the safetensors reader: a valid tensor map whose slices lie in the file, or one SaharaException. */
class SafeTensorsFuzzTest {
    static final Path FILE = Path.of("fuzz.safetensors");

    static void parse(byte[] bytes) {
        MemorySegment seg = MemorySegment.ofArray(bytes);
        try {
            Map<String, TensorData> t = SafeTensors.parse(seg, FILE);
            for (TensorData d : t.values()) {
                long off = d.data().address() - seg.address();
                if (off < 8 || off + d.data().byteSize() > bytes.length) throw new AssertionError("tensor " + d.name() + " reaches outside the file");
            }
        } catch (SaharaException e) {
            Fuzz.assertOneLine(e, FILE.toString());
        }
    }

    @Property(tries = 300, seed = "20261130")
    void arbitraryBytes(@ForAll @Size(max = 300) byte[] bytes) { parse(bytes); }

    /** A plausible file: a correct header length, a header built from hostile pieces, a few data bytes. */
    @Property(tries = 400, seed = "20261131")
    void hostileHeaders(@ForAll("headers") String header, @ForAll @Size(max = 64) byte[] data, @ForAll("lengthFudge") long fudge) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length + fudge).put(h).put(data);
        parse(b.array());
    }

    @Provide
    Arbitrary<Long> lengthFudge() { return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(8, Arbitraries.just(0L)),
            net.jqwik.api.Tuple.of(1, Arbitraries.longs()),
            net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(-3, 3))); }

    @Provide
    Arbitrary<String> headers() {
        Arbitrary<String> number = Arbitraries.oneOf(Arbitraries.longs().map(String::valueOf), Arbitraries.longs().between(-2, 70).map(String::valueOf),
                Arbitraries.of("1e308", "-0", "1.5", "9223372036854775808", "18446744073709551616", "NaN", "null", "\"4\"", "[]", "{}"));
        Arbitrary<String> shape = number.list().ofMaxSize(4).map(l -> "[" + String.join(",", l) + "]");
        Arbitrary<String> dtype = Arbitraries.of("\"F32\"", "\"F16\"", "\"BF16\"", "\"I8\"", "\"F64\"", "\"\"", "3", "null");
        Arbitrary<String> offsets = number.list().ofMaxSize(3).map(l -> "[" + String.join(",", l) + "]");
        Arbitrary<String> entry = Combinators.combine(Arbitraries.strings().ofMaxLength(6), dtype, shape, offsets)
                .as((n, d, s, o) -> "\"" + n.replace("\\", "").replace("\"", "") + "\":{\"dtype\":" + d + ",\"shape\":" + s + ",\"data_offsets\":" + o + "}");
        Arbitrary<String> object = entry.list().ofMaxSize(4).map(l -> "{" + String.join(",", l) + "}");
        return Arbitraries.oneOf(object, object.map(o -> o.substring(0, o.length() / 2)), Arbitraries.of("[]", "null", "\"x\"", "{\"__metadata__\":{}}", "{\"a\":1}"));
    }
}
