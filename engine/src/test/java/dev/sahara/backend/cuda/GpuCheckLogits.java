package dev.sahara.backend.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sahara.cli.SaharaCommand;
import dev.sahara.model.Json;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * tools/gpu-check's helper: several CLI runs in one JVM (the CLI in-process, exactly as {@code java -jar engine.jar}
 * runs it), so a stage starts one JVM rather than one per case.
 * <pre>
 *   GpuCheckLogits logits BACKEND TOLERANCE IDS MODEL...   stage 2: `logits --backend cpu` vs `--backend BACKEND` on
 *                                                          each model; one line each, then "logits: ..." last; exit 1
 *                                                          if any model differs by more than TOLERANCE or did not run
 *   GpuCheckLogits cli OUT ARGS... [+++ OUT ARGS...]...    each run's stdout into its file OUT, stderr here; exit 1 if any failed
 * </pre>
 */
public final class GpuCheckLogits {
    private GpuCheckLogits() {}

    /** One CLI run in this JVM: exit code and stdout (stderr goes to this process's stderr). */
    record Run(int code, String out) {}

    static Run cli(String... args) {
        StringWriter out = new StringWriter();
        PrintWriter err = new PrintWriter(new java.io.OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        int code;
        try {
            code = SaharaCommand.newCommandLine(new PrintWriter(out, true), err).execute(args);
        } catch (RuntimeException | Error e) {
            System.err.println("gpu-check: " + String.join(" ", args) + ": " + e);
            code = 99;
        }
        return new Run(code, out.toString());
    }

    static float[] logits(String model, String backend, String ids, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("logits", "--model", model, "--backend", backend, "--token-ids", ids));
        args.addAll(Arrays.asList(extra));
        Run r = cli(args.toArray(String[]::new));
        if (r.code() != 0) throw new IllegalStateException("exit code " + r.code());
        JsonNode l = Json.MAPPER.readTree(r.out()).get("logits");
        float[] f = new float[l.size()];
        for (int i = 0; i < f.length; i++) f[i] = (float) l.get(i).asDouble();
        return f;
    }

    /** max |a − b| (infinite when the lengths differ or one is NaN where the other is not). */
    static double maxDiff(float[] a, float[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            if (Float.isNaN(a[i]) != Float.isNaN(b[i])) return Double.POSITIVE_INFINITY;
            if (!Float.isNaN(a[i])) d = Math.max(d, Math.abs((double) a[i] - b[i]));
        }
        return d;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) throw new IllegalArgumentException("usage: GpuCheckLogits logits|cli ...");
        int code = switch (args[0]) {
            case "logits" -> compareLogits(args[1], args[2], args[3], Arrays.copyOfRange(args, 4, args.length));
            case "cli" -> runAll(Arrays.copyOfRange(args, 1, args.length));
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        };
        System.out.flush();
        System.exit(code);
    }

    private static int compareLogits(String backend, String tolerance, String ids, String[] models) {
        double tol = Double.parseDouble(tolerance);
        int ok = 0, bad = 0;
        double worst = 0;
        boolean verbose = true;   // the first run on the backend under test says what it opened (--verbose)
        for (String m : models) {
            try {
                float[] cpu = logits(m, "cpu", ids);
                float[] other = verbose ? logits(m, backend, ids, "--verbose") : logits(m, backend, ids);
                verbose = false;
                double d = maxDiff(cpu, other);
                boolean pass = d <= tol;
                worst = Math.max(worst, d);
                if (pass) ok++; else bad++;
                System.out.printf(Locale.ROOT, "%-45s vocab %6d  max|cpu-%s| %.3g  %s (tolerance %s)%n", m, cpu.length, backend, d, pass ? "ok" : "FAIL", tolerance);
            } catch (Exception e) {
                bad++;
                System.out.printf(Locale.ROOT, "%-45s FAIL (did not run: %s)%n", m, e.getMessage());
            }
            System.out.flush();
        }
        // informational: --precision bf16 (16-bit GEMM inputs) against the CPU's float32, on synthetic:tiny (bf16)
        try {
            double d = maxDiff(logits("synthetic:tiny", "cpu", ids), logits("synthetic:tiny", backend, ids, "--precision", "bf16"));
            System.out.printf(Locale.ROOT, "%-45s max|cpu-%s| %.3g  (informational, not counted)%n", "synthetic:tiny --precision bf16", backend, d);
        } catch (Exception e) {
            System.out.printf(Locale.ROOT, "%-45s did not run (informational, not counted): %s%n", "synthetic:tiny --precision bf16", e.getMessage());
        }
        System.out.printf(Locale.ROOT, "logits: %d of %d models within %s of the CPU (worst max|Δ| %.3g)%n", ok, ok + bad, tolerance, worst);
        return bad == 0 && ok > 0 ? 0 : 1;
    }

    private static int runAll(String[] args) throws Exception {
        int failed = 0;
        int i = 0;
        while (i < args.length) {
            int j = i + 1;
            while (j < args.length && !args[j].equals("+++")) j++;
            Path out = Path.of(args[i]);
            String[] cmd = Arrays.copyOfRange(args, i + 1, j);
            long t0 = System.nanoTime();
            Run r = cli(cmd);
            Files.writeString(out, r.out());
            System.err.printf(Locale.ROOT, "gpu-check: %s: exit %d in %.1f s%n", String.join(" ", cmd), r.code(), (System.nanoTime() - t0) / 1e9);
            if (r.code() != 0) failed++;
            i = j + 1;
        }
        return failed == 0 ? 0 : 1;
    }
}
