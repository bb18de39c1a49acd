package dev.sahara.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.SaharaException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The safetensors writer: layout of the bytes, and a round trip through {@link SafeTensors}. */
class SafeTensorsWriterTest {
    @TempDir
    Path tmp;

    @Test
    void layoutAndRoundTrip() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(2 * 3 * 4), b = arena.allocate(5 * 2), c = arena.allocate(0);
            for (int i = 0; i < 6; i++) a.set(TensorData.F32_LE, i * 4L, i * 1.5f);
            for (int i = 0; i < 5; i++) b.set(TensorData.I16_LE, i * 2L, (short) (0x3f80 + i));
            Path f = tmp.resolve("t.safetensors");
            SafeTensorsWriter.write(f, List.of(new SafeTensorsWriter.Entry("z.weight", DType.F32, new long[] {2, 3}, a),
                    new SafeTensorsWriter.Entry("a.bias", DType.BF16, new long[] {5}, b),
                    new SafeTensorsWriter.Entry("empty", DType.F16, new long[] {0, 4}, c)), SafeTensorsWriter.ptMetadata());

            byte[] bytes = Files.readAllBytes(f);
            long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertEquals(0, n % 8, "header length is a multiple of 8");
            assertEquals(8 + n + 24 + 10, bytes.length, "tensors back to back after the header");
            String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
            assertTrue(header.startsWith("{") && header.stripTrailing().endsWith("}") && header.length() - header.stripTrailing().length() < 8,
                    "JSON padded with spaces: [" + header + "]");
            JsonNode h = Json.MAPPER.readTree(header);
            assertEquals("pt", h.at("/__metadata__/format").asText());
            assertEquals("[0,24]", h.at("/z.weight/data_offsets").toString());
            assertEquals("[24,34]", h.at("/a.bias/data_offsets").toString());
            assertEquals("[34,34]", h.at("/empty/data_offsets").toString());

            try (Arena r = Arena.ofConfined()) {
                Map<String, TensorData> t = SafeTensors.read(f, r);
                assertEquals(List.of("z.weight", "a.bias", "empty"), List.copyOf(t.keySet()));
                assertEquals(-1, t.get("z.weight").data().mismatch(a));
                assertEquals(-1, t.get("a.bias").data().mismatch(b));
                assertArrayEquals(new long[] {2, 3}, t.get("z.weight").shape());
                assertEquals(DType.BF16, t.get("a.bias").dtype());
            }
            try (var s = Files.list(tmp)) {
                assertEquals(List.of("t.safetensors"), s.map(p -> p.getFileName().toString()).toList(), "no temp file left");
            }
        }
    }

    @Test
    void refusesInconsistentEntries() {
        MemorySegment three = MemorySegment.ofArray(new byte[3]);
        Path f = tmp.resolve("bad.safetensors");
        assertThrows(SaharaException.class, () -> SafeTensorsWriter.write(f,
                List.of(new SafeTensorsWriter.Entry("x", DType.F32, new long[] {1}, three)), Map.of()));
        MemorySegment four = MemorySegment.ofArray(new byte[4]);
        assertThrows(SaharaException.class, () -> SafeTensorsWriter.write(f,
                List.of(new SafeTensorsWriter.Entry("x", DType.F32, new long[] {1}, four), new SafeTensorsWriter.Entry("x", DType.F32, new long[] {1}, four)), Map.of()));
        assertTrue(!Files.exists(f));
        assertEquals(4, four.byteSize() * ValueLayout.JAVA_BYTE.byteSize());
    }
}
