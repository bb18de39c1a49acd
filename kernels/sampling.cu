// Top-k of each row of logits: the candidates greedy decoding (k = 1) and top-k sampling draw from, so only
// (rows, k) numbers leave the device instead of (rows, vocab). Order: larger value first, equal values by lower
// column id first: exactly the host's TopK.select. NaN / ±Inf are never picked and clear the row's flag.
//   logits (rows, n) float32
//   ids    (rows, k) int32    column ids in rank order
//   values (rows, k) float32  their logits
//   finite (rows)    int32    1 when the row has no NaN / ±Inf (and so at least k picks), else 0
// Grid: rows blocks; blockDim.x a multiple of 32, at most 1024. Pick j is a pass over the row in which each
// thread keeps its best element ranking after pick j - 1, then a block-wide reduction of (value, id) pairs; the
// order is total (ids are unique), so the result does not depend on how the reduction pairs them.
#include "common.cuh"

#define NO_ID 0x7fffffff

// (av, ai) ranks before (bv, bi): a larger value, or an equal one with a lower id
__device__ __forceinline__ bool ranks_before(float av, int ai, float bv, int bi) { return av > bv || (av == bv && ai < bi); }

__device__ __forceinline__ void warp_best(float& v, int& i) {
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oi = __shfl_xor_sync(0xffffffffu, i, o);
        if (ranks_before(ov, oi, v, i)) { v = ov; i = oi; }
    }
}

extern "C" __global__ void top_k(const float* logits, int n, int k, int* ids, float* values, int* finite) {
    __shared__ float best_v[32];
    __shared__ int best_i[32];
    __shared__ int not_finite;
    const float* x = logits + (size_t) blockIdx.x * n;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
    if (threadIdx.x == 0) not_finite = 0;
    __syncthreads();
    for (int c = threadIdx.x; c < n; c += blockDim.x) {
        if (!isfinite(x[c])) not_finite = 1;   // a benign race: every writer stores 1
    }

    float pick_v = INFINITY;                  // pick j - 1; every finite value ranks after (+inf, -1)
    int pick_i = -1;
    for (int j = 0; j < k; j++) {
        float v = -INFINITY;                  // (-inf, NO_ID): no candidate yet; any finite value ranks before it
        int i = NO_ID;
        for (int c = threadIdx.x; c < n; c += blockDim.x) {
            float xc = x[c];
            if (isfinite(xc) && ranks_before(pick_v, pick_i, xc, c) && ranks_before(xc, c, v, i)) { v = xc; i = c; }
        }
        warp_best(v, i);
        __syncthreads();                      // best_v / best_i may still be read from the previous pick
        if (lane == 0) { best_v[warp] = v; best_i[warp] = i; }
        __syncthreads();
        if (warp == 0) {
            v = lane < warps ? best_v[lane] : -INFINITY;
            i = lane < warps ? best_i[lane] : NO_ID;
            warp_best(v, i);
            if (lane == 0) { best_v[0] = v; best_i[0] = i; }
        }
        __syncthreads();
        pick_v = best_v[0];
        pick_i = best_i[0];
        if (threadIdx.x == 0) {
            ids[(size_t) blockIdx.x * k + j] = pick_i;
            values[(size_t) blockIdx.x * k + j] = pick_v;
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) finite[blockIdx.x] = !not_finite && pick_i != NO_ID;
}
