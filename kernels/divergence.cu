// KL(softmax(p) ‖ softmax(q)) per row in double precision, as the host's Divergence.kl: query-level Ships compares
// each candidate's last-token logits with the unablated ones without downloading either. official = 1: the
// official code's variant, Σ (p + 1e-12) · log((p + 1e-12) / (q + 1e-12)), not clamped at 0. NaN when a logit of
// either row is NaN or ±Inf, as on the host: the caller then stops instead of scoring garbage.
//   p, q (rows, n) float32 logits;  out (rows) float64
// Grid: rows blocks; blockDim.x a multiple of 32. Sums in double, in another order than the host's: parity within
// 1e-12 + 1e-9 · |KL|, not bit for bit.
#include "common.cuh"

// log Σ exp(x) over the row, from its maximum; NaN when the row holds a NaN or ±Inf (every thread of the block
// must call it)
__device__ double log_sum_exp(const float* x, int n, float* redf, double* redd) {
    float m = -INFINITY, bad = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        m = fmaxf(m, x[i]);
        if (!isfinite(x[i])) bad = 1;
    }
    if (block_reduce(bad, redf, MaxOp(), 0.0f) != 0) return NAN;
    m = block_reduce(m, redf, MaxOp(), -INFINITY);
    double s = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += exp((double) x[i] - m);
    s = block_reduce(s, redd, DSumOp(), 0.0);
    return m + log(s);
}

extern "C" __global__ void kl_divergence(const float* p, const float* q, int n, int official, double* out) {
    __shared__ float redf[32];
    __shared__ double redd[32];
    const float* pr = p + (size_t) blockIdx.x * n;
    const float* qr = q + (size_t) blockIdx.x * n;
    double pz = log_sum_exp(pr, n, redf, redd), qz = log_sum_exp(qr, n, redf, redd);
    if (isnan(pz) || isnan(qz)) {               // before the sum: with p's NaN every term is skipped (pp > 0 fails), giving 0
        if (threadIdx.x == 0) out[blockIdx.x] = NAN;
        return;
    }
    double kl = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        double lp = (double) pr[i] - pz, lq = (double) qr[i] - qz;
        if (official) {
            double pp = exp(lp) + 1e-12, qq = exp(lq) + 1e-12;
            kl += pp * log(pp / qq);
        } else {
            double pp = exp(lp);
            if (pp > 0) kl += pp * (lp - lq);
        }
    }
    kl = block_reduce(kl, redd, DSumOp(), 0.0);
    // not fmax: it would turn a NaN into 0 (Java's Math.max(0, kl) keeps it)
    if (threadIdx.x == 0) out[blockIdx.x] = official || kl > 0 || isnan(kl) ? kl : 0.0;
}
