// Shared helpers for Sahara's kernels: weight decoding (bf16 / f16 / f32 -> f32) and block reductions.
// Activations are always float32, row-major [rows, cols]. Weights stay in their checkpoint dtype.
#pragma once
#include <cuda_fp16.h>

typedef unsigned short bf16_t;   // raw bfloat16 bits (the high half of a float32)

__device__ __forceinline__ float to_f32(float w) { return w; }
__device__ __forceinline__ float to_f32(bf16_t w) { return __uint_as_float(((unsigned int) w) << 16); }
__device__ __forceinline__ float to_f32(__half w) { return __half2float(w); }

// Every thread of the block must call these; blockDim.x a multiple of 32, at most 1024.
// `red` is __shared__ scratch of at least 32 elements.
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, T* red, Op op, T identity) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    v = op(v);
    __syncthreads();                 // red may still be read by a previous reduction
    if (lane == 0) red[warp] = v;
    __syncthreads();
    v = lane < warps ? red[lane] : identity;
    if (warp == 0) v = op(v);
    if (threadIdx.x == 0) red[0] = v;
    __syncthreads();
    return red[0];
}

struct MaxOp { __device__ float operator()(float v) const { return warp_max(v); } };
struct SumOp { __device__ float operator()(float v) const { return warp_sum(v); } };
struct DSumOp { __device__ double operator()(double v) const { return warp_sum(v); } };

// Declares one extern "C" entry point per weight dtype: NAME_f32, NAME_bf16, NAME_f16.
#define FOR_EACH_WEIGHT_DTYPE(M) M(f32, float) M(bf16, bf16_t) M(f16, __half)
