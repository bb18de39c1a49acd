package dev.sahara.model;

/** The weight dtypes the engine reads. Weights stay in their dtype; compute is float32. */
public enum DType {
    F32(4), F16(2), BF16(2);

    public final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    /** The safetensors dtype name, or null when the engine cannot read that dtype. */
    public static DType fromSafetensors(String name) {
        return switch (name) {
            case "F32" -> F32;
            case "F16" -> F16;
            case "BF16" -> BF16;
            default -> null;
        };
    }
}
