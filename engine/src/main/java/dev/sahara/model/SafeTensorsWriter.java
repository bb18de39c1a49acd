package dev.sahara.model;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sahara.SaharaException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writer of one {@code .safetensors} file, the format {@link SafeTensors} reads: an 8-byte little-endian header
 * length N, N bytes of JSON {@code {"__metadata__": {...}, name: {dtype, shape, data_offsets: [begin, end]}}} padded
 * with spaces so that N is a multiple of 8, then the tensors' bytes back to back in the order given.
 *
 * <p>Tensor bytes are streamed from their {@link MemorySegment}s (memory-mapped or off-heap) straight to the file in
 * chunks, so a model never has to fit on the heap. The file is written to a temporary sibling, forced to disk, then
 * renamed over {@code file} (atomically where the file system allows), so a reader never sees half a file.
 */
public final class SafeTensorsWriter {
    /** One tensor to write: {@code data} holds exactly elementCount·dtype.bytes little-endian bytes. */
    public record Entry(String name, DType dtype, long[] shape, MemorySegment data) {
        public static Entry of(TensorData t) { return new Entry(t.name(), t.dtype(), t.shape(), t.data()); }
    }

    /** Bytes copied per write call (a ByteBuffer view cannot exceed 2 GiB). */
    private static final long CHUNK = 64L << 20;

    private SafeTensorsWriter() {}

    /** Writes {@code tensors} (in this order) with {@code metadata} as the header's {@code __metadata__}. */
    public static void write(Path file, List<Entry> tensors, Map<String, String> metadata) {
        byte[] header = header(tensors, metadata, file);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            // CREATE_NEW with a random name rather than Files.createTempFile, whose 0600 mode would stick to the result
            tmp = dir.resolve("." + file.getFileName() + "." + Long.toUnsignedString(new SecureRandom().nextLong(), 36) + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(header));
                for (Entry e : tensors) {
                    MemorySegment s = e.data();
                    for (long off = 0; off < s.byteSize(); off += CHUNK) {
                        writeFully(ch, s.asSlice(off, Math.min(CHUNK, s.byteSize() - off)).asByteBuffer());
                    }
                }
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException e) {
            throw SaharaException.inFile(file, "cannot write: " + e.getMessage());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort: a stray temp file is harmless
                }
            }
        }
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes; every entry checked first. */
    static byte[] header(List<Entry> tensors, Map<String, String> metadata, Path file) {
        ObjectNode h = Json.MAPPER.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = h.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (Entry e : tensors) {
            if (e.name().equals("__metadata__") || !names.add(e.name())) {
                throw SaharaException.inFile(file, "cannot write tensor name '" + e.name() + "' (reserved or duplicated)");
            }
            long count = 1;
            for (long d : e.shape()) {
                if (d < 0) throw SaharaException.inFile(file, "tensor " + e.name() + ": negative dimension in shape " + Arrays.toString(e.shape()));
                count = Math.multiplyExact(count, d);
            }
            long bytes = Math.multiplyExact(count, (long) e.dtype().bytes);
            if (e.data().byteSize() != bytes) {
                throw SaharaException.inFile(file, "tensor " + e.name() + ": " + e.data().byteSize() + " data bytes, shape "
                        + Arrays.toString(e.shape()) + " of " + e.dtype() + " needs " + bytes);
            }
            ObjectNode t = h.putObject(e.name());
            t.put("dtype", e.dtype().name());
            var shape = t.putArray("shape");
            for (long d : e.shape()) shape.add(d);
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json;
        try {
            json = Json.MAPPER.writeValueAsBytes(h);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** The default metadata of a PyTorch-style checkpoint (what Hugging Face transformers expects). */
    public static Map<String, String> ptMetadata() { return Map.of("format", "pt"); }
}
