// Weight helpers for the matmul (cuBLAS does the product itself):
//   widen_NAME:  dst = src as float32       dst (n) float32; src (n) bf16 / f16 weight        (--precision f32)
//   bias_NAME:   out[t] += bias, every row  out (rows, n) float32; bias (n) f32 / bf16 / f16 weight
//   narrow_bf16: dst = src rounded to bf16  dst (n) bf16 bits; src (n) float32 activations   (--precision bf16,
//   narrow_f16:  dst = src rounded to f16   dst (n) f16;       src (n) float32 activations    16-bit GEMM inputs)
// widen / narrow: grid-stride over n, round to nearest even. bias: grid (rows, ceil(n / blockDim.x)),
// rows in x, which allows 2^31 - 1 of them (y allows 65,535).
#include "common.cuh"

template <typename W>
__device__ void widen(float* dst, const W* src, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) dst[i] = to_f32(src[i]);
}

template <typename W>
__device__ void bias(float* out, const W* b, int n) {
    int t = blockIdx.x, j = blockIdx.y * blockDim.x + threadIdx.x;
    if (j < n) out[(size_t) t * n + j] += to_f32(b[j]);
}

#define WEIGHT_OPS(NAME, W) \
    extern "C" __global__ void widen_##NAME(float* dst, const W* src, long long n) { widen(dst, src, n); } \
    extern "C" __global__ void bias_##NAME(float* out, const W* b, int n) { bias(out, b, n); }
FOR_EACH_WEIGHT_DTYPE(WEIGHT_OPS)

// float32 -> bfloat16, round to nearest even (NaN stays NaN, quiet).
__device__ __forceinline__ bf16_t to_bf16_rn(float f) {
    unsigned int u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16_t) ((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16_t) (u >> 16);
}

extern "C" __global__ void narrow_bf16(bf16_t* dst, const float* src, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) dst[i] = to_bf16_rn(src[i]);
}

extern "C" __global__ void narrow_f16(__half* dst, const float* src, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) dst[i] = __float2half_rn(src[i]);
}
