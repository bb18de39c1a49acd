package dev.sahara.backend;

/**
 * cos / sin of position · invFreq[i], as float32, for positions 0 .. positions − 1: {@code cos[p · half + i]}. One
 * definition of how the rotation angles are rounded (computed in double with StrictMath, then rounded once), so every
 * backend that tabulates them rotates by exactly the same numbers. Built once per invFreq array (a model keeps one)
 * and grown by doubling.
 */
public record RopeTable(double[] invFreq, int positions, float[] cos, float[] sin) {
    /** {@code current} when it is for {@code invFreq} (the same array) and covers {@code positions}; else a new, larger table. */
    public static RopeTable covering(RopeTable current, double[] invFreq, int positions) {
        boolean same = current != null && current.invFreq == invFreq;
        if (same && current.positions >= positions) return current;
        int n = Math.max(positions, same ? 2 * current.positions : 256), half = invFreq.length;
        float[] cos = new float[Math.multiplyExact(n, half)], sin = new float[n * half];
        for (int p = 0; p < n; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * invFreq[i];
                cos[p * half + i] = (float) StrictMath.cos(angle);
                sin[p * half + i] = (float) StrictMath.sin(angle);
            }
        }
        return new RopeTable(invFreq, n, cos, sin);
    }
}
