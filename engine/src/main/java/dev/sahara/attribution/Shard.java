package dev.sahara.attribution;

import dev.sahara.SaharaException;
import dev.sahara.ablate.HeadId;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * One shard of a step's candidates: shard {@code index} (0-based, like Slurm's array task ids and Kubernetes'
 * completion indexes) of {@code count}. The candidates of a step are independent, so any partition gives the
 * same scores; this one balances cost: with prefix reuse a candidate in layer l runs layers l..L-1 only, so a
 * layer-0 candidate costs L layers and a last-layer one costs 1. Candidates are taken from the most to the least
 * expensive (ties in (layer, head) order) and each goes to the shard with the least cost so far (ties to the lower
 * index) — longest-processing-time-first, deterministic, so every shard and the merge compute the same partition.
 */
public record Shard(int index, int count) {
    public Shard {
        if (count < 1 || index < 0 || index >= count) throw new SaharaException("--shard must be K/N with 0 <= K < N, got " + index + "/" + count);
    }

    public String label() { return index + "/" + count; }

    /**
     * Parses {@code K/N}, {@code auto} or {@code auto/N}. {@code auto} reads Slurm's {@code SLURM_ARRAY_TASK_ID} and
     * {@code SLURM_ARRAY_TASK_COUNT}, or Kubernetes' {@code JOB_COMPLETION_INDEX} (an Indexed Job gives no count:
     * write {@code auto/N}); with {@code auto/N} the index comes from the environment and N from the option —
     * needed on Slurm too when only some tasks of an array are resubmitted (then the array's task count is not N).
     */
    public static Shard parse(String spec, Map<String, String> env) {
        String s = spec.strip();
        if (s.equals("auto") || s.startsWith("auto/")) {
            Integer given = s.equals("auto") ? null : number("--shard " + spec + ": N", s.substring(5));
            String slurmId = env.get("SLURM_ARRAY_TASK_ID"), k8sIndex = env.get("JOB_COMPLETION_INDEX");
            int index;
            Integer count = given;
            if (slurmId != null) {
                index = number("--shard auto: SLURM_ARRAY_TASK_ID", slurmId);
                String c = env.get("SLURM_ARRAY_TASK_COUNT");
                if (count == null && c != null) count = number("--shard auto: SLURM_ARRAY_TASK_COUNT", c);
            } else if (k8sIndex != null) {
                index = number("--shard auto: JOB_COMPLETION_INDEX", k8sIndex);
            } else {
                throw new SaharaException("--shard " + spec + ": neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set (give --shard K/N outside a job array)");
            }
            if (count == null) throw new SaharaException("--shard " + spec + ": the number of shards is not in the environment; write --shard auto/N");
            if (index >= count) throw new SaharaException("--shard " + spec + ": index " + index + " from the environment is not below the shard count " + count);
            return new Shard(index, count);
        }
        int slash = s.indexOf('/');
        if (slash < 0) throw new SaharaException("--shard must be K/N (0-based K), auto or auto/N, got '" + spec + "'");
        return new Shard(number("--shard " + spec + ": K", s.substring(0, slash)), number("--shard " + spec + ": N", s.substring(slash + 1)));
    }

    private static int number(String what, String text) {
        try {
            int v = Integer.parseInt(text.strip());
            if (v >= 0) return v;
        } catch (NumberFormatException e) {
            // below
        }
        throw new SaharaException(what + " must be a non-negative integer, got '" + text + "'");
    }

    /** The relative cost of scoring a candidate in {@code layer}: the layers its forward runs. */
    public static long cost(int layer, int layers, boolean prefixReuse) { return prefixReuse ? layers - layer : layers; }

    /**
     * Which shard scores each candidate of a step: {@code [layer][head]} → shard index, -1 for heads already in the
     * group (they are not candidates).
     */
    public static int[][] partition(int layers, int heads, List<HeadId> group, boolean prefixReuse, int count) {
        int[][] owner = new int[layers][heads];
        List<HeadId> candidates = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                HeadId id = new HeadId(l, h);
                if (group.contains(id)) owner[l][h] = -1;
                else candidates.add(id);
            }
        }
        // stable sort: equal costs keep (layer, head) order
        candidates.sort(Comparator.comparingLong((HeadId id) -> -cost(id.layer(), layers, prefixReuse)));
        long[] load = new long[count];
        for (HeadId id : candidates) {
            int best = 0;
            for (int k = 1; k < count; k++) if (load[k] < load[best]) best = k;
            owner[id.layer()][id.head()] = best;
            load[best] += cost(id.layer(), layers, prefixReuse);
        }
        return owner;
    }

    /** This shard's candidates of a step, in (layer, head) order. */
    public List<HeadId> candidates(int layers, int heads, List<HeadId> group, boolean prefixReuse) {
        int[][] owner = partition(layers, heads, group, prefixReuse, count);
        List<HeadId> mine = new ArrayList<>();
        for (int l = 0; l < layers; l++) for (int h = 0; h < heads; h++) if (owner[l][h] == index) mine.add(new HeadId(l, h));
        return mine;
    }
}
