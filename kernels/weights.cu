// Weight helpers for the matmul (cuBLAS does the product itself, in float32):
//   widen_NAME: dst = src as float32       dst (n) float32; src (n) bf16 / f16 weight
//   bias_NAME:  out[t] += bias, every row  out (rows, n) float32; bias (n) f32 / bf16 / f16 weight
// widen: grid-stride over n. bias: grid (ceil(n / blockDim.x), rows).
#include "common.cuh"

template <typename W>
__device__ void widen(float* dst, const W* src, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) dst[i] = to_f32(src[i]);
}

template <typename W>
__device__ void bias(float* out, const W* b, int n) {
    int t = blockIdx.y, j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j < n) out[(size_t) t * n + j] += to_f32(b[j]);
}

#define WEIGHT_OPS(NAME, W) \
    extern "C" __global__ void widen_##NAME(float* dst, const W* src, long long n) { widen(dst, src, n); } \
    extern "C" __global__ void bias_##NAME(float* out, const W* b, int n) { bias(out, b, n); }
FOR_EACH_WEIGHT_DTYPE(WEIGHT_OPS)
