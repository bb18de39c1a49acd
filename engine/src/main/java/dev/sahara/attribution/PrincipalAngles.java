package dev.sahara.attribution;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.NormOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

import java.util.Arrays;

/**
 * Dataset-level Ships (SPEC.md, Eq. 10–11): the principal angles between the spans of the leading r left
 * singular vectors of two activation matrices M, M_A ∈ ℝ^{n×d} (rows = prompts). The left singular
 * vectors of M are the eigenvectors of the n×n Gram matrix M·Mᵀ, so a symmetric eigensolver on n×n is
 * enough (n prompts ≤ d in practice). Score = Σ_{i ≤ r} arccos(σ_i(U_rᵀ U_A,r)) in degrees; for r = 1 that is
 * arccos(|u₁·u₁ᴬ|) ∈ [0°, 90°]. Everything in double precision.
 */
public final class PrincipalAngles {
    private PrincipalAngles() {}

    /** The leading r left singular vectors of m (n×d), as the columns of an n×r matrix. */
    public static DMatrixRMaj leadingLeftSingularVectors(float[][] m, int r) {
        int n = m.length;
        if (r < 1 || r > n) throw new IllegalArgumentException("r_main must be in 1.." + n + ", got " + r);
        DMatrixRMaj gram = new DMatrixRMaj(n, n);
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) {
                double s = 0;
                for (int k = 0; k < m[i].length; k++) s += (double) m[i][k] * m[j][k];
                gram.set(i, j, s);
                gram.set(j, i, s);
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
        if (!eig.decompose(gram)) throw new IllegalStateException("eigendecomposition of the " + n + "x" + n + " Gram matrix failed");
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        // largest eigenvalue first; ties by index so the result is deterministic
        Arrays.sort(order, (a, b) -> {
            int c = Double.compare(eig.getEigenvalue(b).getReal(), eig.getEigenvalue(a).getReal());
            return c != 0 ? c : Integer.compare(a, b);
        });
        DMatrixRMaj u = new DMatrixRMaj(n, r);
        for (int c = 0; c < r; c++) {
            DMatrixRMaj v = eig.getEigenVector(order[c]);
            double norm = NormOps_DDRM.normF(v);
            for (int i = 0; i < n; i++) u.set(i, c, v.get(i) / norm);
        }
        return u;
    }

    /** Σ arccos of the singular values of uᵀ·ua, in degrees (each clamped to [0, 1] against rounding). */
    public static double angleDegrees(DMatrixRMaj u, DMatrixRMaj ua) {
        DMatrixRMaj prod = new DMatrixRMaj(u.numCols, ua.numCols);
        CommonOps_DDRM.multTransA(u, ua, prod);
        SingularValueDecomposition_F64<DMatrixRMaj> svd = DecompositionFactory_DDRM.svd(prod.numRows, prod.numCols, false, false, true);
        if (!svd.decompose(prod)) throw new IllegalStateException("SVD of the " + prod.numRows + "x" + prod.numCols + " overlap matrix failed");
        double sum = 0;
        for (double s : svd.getSingularValues()) sum += Math.toDegrees(Math.acos(Math.min(1.0, Math.max(0.0, s))));
        return sum;
    }

    public static double angleDegrees(float[][] base, float[][] ablated, int r) {
        return angleDegrees(leadingLeftSingularVectors(base, r), leadingLeftSingularVectors(ablated, r));
    }
}
