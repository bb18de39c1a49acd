package dev.sahara.report;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * PNG bytes of an image, encoded in memory: the file is then written like every other result file
 * ({@link ResultFiles#writeBytes}, temp file and rename), so a kill or a full disk never leaves a 0-byte PNG,
 * and a write error is the file system's own words instead of ImageIO's "I/O error writing PNG file".
 */
final class Png {
    private Png() {}

    static byte[] encode(BufferedImage image) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 * 1024);
        try {
            if (!ImageIO.write(image, "png", bytes)) throw new IllegalStateException("no PNG writer in this JDK");
        } catch (IOException e) {
            throw new UncheckedIOException("encoding a PNG in memory", e);   // a bug, not the user's input: memory cannot be full of disk
        }
        return bytes.toByteArray();
    }
}
