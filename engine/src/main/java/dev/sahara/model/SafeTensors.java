package dev.sahara.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.SaharaException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reader of one {@code .safetensors} file: an 8-byte little-endian header length, a JSON header
 * {@code {name: {dtype, shape, data_offsets: [begin, end]}}}, then the tensor bytes. The file is
 * memory-mapped read-only; every offset is checked against the file before a tensor is handed out, so a
 * hostile header can neither read outside the file nor make the engine allocate an absurd size.
 */
public final class SafeTensors {
    /** Headers larger than this are refused (real ones are at most a few MB). */
    static final long MAX_HEADER_BYTES = 100L << 20;

    private SafeTensors() {}

    /** Maps {@code file} into {@code arena} and returns its tensors by name, in header order. */
    public static Map<String, TensorData> read(Path file, Arena arena) {
        MemorySegment whole;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw SaharaException.inFile(file, "not a safetensors file (" + size + " bytes, shorter than the 8-byte header length)");
            whole = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot read: " + e.getMessage());
        }
        return parse(whole, file);
    }

    /** Parses a safetensors image already in memory (also used by tests on byte arrays). */
    public static Map<String, TensorData> parse(MemorySegment whole, Path file) {
        long size = whole.byteSize();
        if (size < 8) throw SaharaException.inFile(file, "not a safetensors file (shorter than the 8-byte header length)");
        long headerLen = whole.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
        if (headerLen <= 0 || headerLen > MAX_HEADER_BYTES || headerLen > size - 8) {
            throw SaharaException.inFile(file, "not a safetensors file (header length " + headerLen + " does not fit the file of " + size + " bytes)");
        }
        byte[] headerBytes = whole.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
        JsonNode header;
        try {
            header = Json.MAPPER.readTree(headerBytes);
        } catch (IOException e) {
            throw SaharaException.inFile(file, "malformed safetensors header (not JSON): " + firstLine(e.getMessage()));
        }
        if (header == null || !header.isObject()) throw SaharaException.inFile(file, "malformed safetensors header (not a JSON object)");
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        Map<String, TensorData> tensors = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            if (name.equals("__metadata__")) continue;
            JsonNode t = e.getValue();
            String where = "tensor '" + name + "'";
            if (!t.isObject() || !t.path("dtype").isTextual() || !t.path("shape").isArray() || !t.path("data_offsets").isArray()
                    || t.path("data_offsets").size() != 2) {
                throw SaharaException.inFile(file, where + ": malformed header entry (needs dtype, shape, data_offsets [begin, end])");
            }
            String dtypeName = t.get("dtype").asText();
            DType dtype = DType.fromSafetensors(dtypeName);
            if (dtype == null) {
                throw SaharaException.inFile(file, where + ": dtype " + dtypeName
                        + " is not supported (only F32, F16, BF16; quantized and integer weights are not)");
            }
            long[] shape = new long[t.get("shape").size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                JsonNode d = t.get("shape").get(i);
                if (!d.canConvertToLong() || d.asLong() < 0) throw SaharaException.inFile(file, where + ": bad shape " + t.get("shape"));
                shape[i] = d.asLong();
                count = Math.multiplyHigh(count, shape[i]) != 0 ? Long.MAX_VALUE : count * shape[i];
                if (count < 0 || count > dataSize) throw SaharaException.inFile(file, where + ": shape " + t.get("shape") + " needs more bytes than the file holds (truncated file?)");
            }
            JsonNode b = t.get("data_offsets").get(0), en = t.get("data_offsets").get(1);
            if (!b.canConvertToLong() || !en.canConvertToLong()) throw SaharaException.inFile(file, where + ": bad data_offsets " + t.get("data_offsets"));
            long begin = b.asLong(), end = en.asLong();
            if (begin < 0 || end < begin || end > dataSize) {
                throw SaharaException.inFile(file, where + ": data_offsets [" + begin + ", " + end + "] lie outside the "
                        + dataSize + " data bytes (truncated file?)");
            }
            if (end - begin != count * dtype.bytes) {
                throw SaharaException.inFile(file, where + ": data_offsets hold " + (end - begin) + " bytes but shape "
                        + t.get("shape") + " of " + dtypeName + " needs " + count * dtype.bytes);
            }
            tensors.put(name, new TensorData(name, dtype, shape, whole.asSlice(dataStart + begin, end - begin), file));
        }
        return tensors;
    }

    /** Fails early with the file named when the path is missing or not a regular file. */
    static void requireFile(Path file, String what) {
        if (!Files.isRegularFile(file)) throw SaharaException.inFile(file, "missing " + what);
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
