package dev.sahara.backend.cuda;

import java.util.List;

/** The entry points each kernel family (kernels/&lt;family&gt;.cu) must export; a test checks them against the PTX. */
final class KernelNames {
    private KernelNames() {}

    static List<String> of(String family) {
        return switch (family) {
            case "embedding" -> perDtype("embed");
            case "rmsnorm" -> perDtype("rmsnorm");
            case "rope" -> List.of("rope");
            case "attention" -> List.of("attention");
            case "heads" -> List.of("edit_heads");
            case "swiglu" -> List.of("swiglu");
            case "residual" -> List.of("add");
            case "direction" -> List.of("project_out", "add_row");
            case "rows" -> List.of("gather_rows", "scatter_rows");
            case "sampling" -> List.of("top_k");
            case "divergence" -> List.of("kl_divergence");
            case "weights" -> List.of("widen_f32", "widen_bf16", "widen_f16", "bias_f32", "bias_bf16", "bias_f16",
                    "narrow_bf16", "narrow_f16");
            default -> throw new IllegalArgumentException("unknown kernel family " + family);
        };
    }

    private static List<String> perDtype(String base) { return List.of(base + "_f32", base + "_bf16", base + "_f16"); }

    /** The suffix of a dtype's entry point: f32, bf16, f16. */
    static String suffix(dev.sahara.model.DType d) { return d.name().toLowerCase(java.util.Locale.ROOT); }
}
