package dev.sahara.ablate;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.SaharaException;
import dev.sahara.model.Json;
import dev.sahara.model.ModelConfig;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * A direction in the residual stream (Arditi et al., NeurIPS 2024): the difference of the mean residual of harmful
 * and harmless prompts at the input of layer {@code layer}, at the prompt position {@code position} counted from its
 * end (-1 = the last token). {@code vector} is that raw difference (hidden_size values, harmful − harmless), what
 * activation addition adds; directional ablation projects out its unit vector. {@code source} names where it came
 * from (the file it was read from), for error messages and result headers.
 *
 * <p>On disk it is the {@code direction} object of {@code direction.json} (written by the {@code direction}
 * command): {@code {"layer": L, "position": P, "vector": [...]}}; the file's other fields are the run's record.
 */
public record ResidualDirection(int layer, int position, float[] vector, String source) {
    public ResidualDirection {
        if (vector.length == 0) throw new SaharaException(source + ": the direction has no values");
        for (float f : vector) if (!Float.isFinite(f)) throw new SaharaException(source + ": the direction holds a value that is not finite (" + f + ")");
        if (norm(vector) == 0) throw new SaharaException(source + ": the direction is zero (it has no unit vector to ablate)");
        vector = vector.clone();
    }

    /** The Euclidean norm, summed in double. */
    public double norm() { return norm(vector); }

    /** vector / ‖vector‖, divided in double then rounded once: what directional ablation projects out. */
    public float[] unit() {
        double n = norm();
        float[] u = new float[vector.length];
        for (int i = 0; i < u.length; i++) u[i] = (float) (vector[i] / n);
        return u;
    }

    @Override
    public float[] vector() { return vector.clone(); }

    /** Refuses a direction of another model: its length must be the hidden size, its layer one of the model's. */
    public ResidualDirection checkIn(ModelConfig c) {
        if (vector.length != c.hiddenSize()) {
            throw new SaharaException(source + ": the direction has " + vector.length + " values, the model's hidden size is " + c.hiddenSize());
        }
        if (layer < 0 || layer >= c.numLayers()) {
            throw new SaharaException(source + ": the direction's layer " + layer + " is not one of the model's layers 0-" + (c.numLayers() - 1));
        }
        return this;
    }

    /** Equal values, layer and position (the source is where it was read, not what it is). */
    @Override
    public boolean equals(Object o) {
        return o instanceof ResidualDirection d && d.layer == layer && d.position == position && Arrays.equals(d.vector, vector);
    }

    @Override
    public int hashCode() { return 31 * (31 * layer + position) + Arrays.hashCode(vector); }

    @Override
    public String toString() { return "direction(layer " + layer + ", position " + position + ", norm " + (float) norm() + ", " + source + ")"; }

    /** Reads the {@code direction} object of a direction.json (see above); every problem names the file. */
    public static ResidualDirection read(Path file) {
        JsonNode d = Json.readObject(file).get("direction");
        if (d == null || !d.isObject()) throw SaharaException.inFile(file, "no \"direction\" object (is it a direction.json written by the direction command?)");
        JsonNode layer = d.get("layer"), position = d.get("position"), values = d.get("vector");
        if (layer == null || !layer.canConvertToInt() || !layer.isIntegralNumber()) throw SaharaException.inFile(file, "direction.layer must be an integer");
        if (position == null || !position.isIntegralNumber() || position.asInt() >= 0) {
            throw SaharaException.inFile(file, "direction.position must be a negative integer (a position counted from the prompt's end, -1 = last)");
        }
        if (values == null || !values.isArray()) throw SaharaException.inFile(file, "direction.vector must be an array of numbers");
        float[] v = new float[values.size()];
        for (int i = 0; i < v.length; i++) {
            if (!values.get(i).isNumber()) throw SaharaException.inFile(file, "direction.vector[" + i + "] is not a number");
            v[i] = values.get(i).floatValue();
        }
        return new ResidualDirection(layer.asInt(), position.asInt(), v, file.toString());
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float f : v) s += (double) f * f;
        return Math.sqrt(s);
    }
}
