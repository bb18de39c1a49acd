package dev.sahara.ablate;

import dev.sahara.SaharaException;
import dev.sahara.model.SyntheticModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResidualDirectionTest {
    @TempDir Path dir;

    private Path write(String json) throws Exception {
        Path f = dir.resolve("direction.json");
        Files.writeString(f, json);
        return f;
    }

    @Test
    void readsTheDirectionObjectAndNormalisesInDouble() throws Exception {
        ResidualDirection d = ResidualDirection.read(write("{\"command\":\"direction\",\"direction\":{\"layer\":1,\"position\":-2,\"vector\":[3,0,-4]}}"));
        assertEquals(1, d.layer());
        assertEquals(-2, d.position());
        assertEquals(5.0, d.norm(), 0);
        assertArrayEquals(new float[] {0.6f, 0f, -0.8f}, d.unit());
    }

    @Test
    void everyMalformedFileIsOneErrorNamingIt() throws Exception {
        String[] bad = {
            "{}",
            "{\"direction\":{\"layer\":1,\"position\":0,\"vector\":[1]}}",
            "{\"direction\":{\"layer\":1.5,\"position\":-1,\"vector\":[1]}}",
            "{\"direction\":{\"layer\":1,\"position\":-1,\"vector\":[1,\"x\"]}}",
            "{\"direction\":{\"layer\":1,\"position\":-1,\"vector\":[0,0]}}",
            "{\"direction\":{\"layer\":1,\"position\":-1}}",
            "{\"direction\":{\"layer\":1,\"position\":-1,\"vector\":[1,",
        };
        for (String json : bad) {
            Path f = write(json);
            SaharaException e = assertThrows(SaharaException.class, () -> ResidualDirection.read(f), json);
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        }
        SaharaException missing = assertThrows(SaharaException.class, () -> ResidualDirection.read(dir.resolve("none.json")));
        assertTrue(missing.getMessage().contains("none.json"), missing.getMessage());
    }

    @Test
    void aDirectionOfAnotherModelIsRefused() throws Exception {
        var c = SyntheticModels.config("tiny");
        float[] ones = new float[c.hiddenSize()];
        Arrays.fill(ones, 1f);
        new ResidualDirection(c.numLayers() - 1, -1, ones, "f").checkIn(c);
        float[] longer = Arrays.copyOf(ones, ones.length + 1);
        assertTrue(assertThrows(SaharaException.class, () -> new ResidualDirection(0, -1, longer, "f").checkIn(c)).getMessage().contains("hidden size"));
        assertTrue(assertThrows(SaharaException.class, () -> new ResidualDirection(c.numLayers(), -1, ones, "f").checkIn(c)).getMessage().contains("layer"));
    }
}
