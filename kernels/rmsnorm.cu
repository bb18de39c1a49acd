// RMSNorm: out[t] = x[t] / sqrt(mean(x[t]^2) + eps) * gamma. The sum of squares is kept in double,
// as the CPU backend does, so both backends agree to float rounding.
//   out, x (rows, n) float32; out may be x
//   gamma  (n)       f32 / bf16 / f16 weight
// Grid: rows blocks; blockDim.x a multiple of 32.
#include "common.cuh"

template <typename W>
__device__ void rmsnorm(float* out, const float* x, const W* gamma, int n, float eps) {
    __shared__ double red[32];
    const float* in = x + (size_t) blockIdx.x * n;
    float* o = out + (size_t) blockIdx.x * n;
    double ss = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += (double) in[i] * in[i];
    ss = block_reduce(ss, red, DSumOp(), 0.0);
    float inv = (float) (1.0 / sqrt(ss / n + eps));
    for (int i = threadIdx.x; i < n; i += blockDim.x) o[i] = in[i] * inv * to_f32(gamma[i]);
}

#define RMSNORM(NAME, W) \
    extern "C" __global__ void rmsnorm_##NAME(float* out, const float* x, const W* gamma, int n, float eps) { rmsnorm(out, x, gamma, n, eps); }
FOR_EACH_WEIGHT_DTYPE(RMSNORM)
