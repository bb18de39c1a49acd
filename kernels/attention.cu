// Fused causal softmax attention over packed variable-length sequences, with GQA.
//   out, q         (T, qCols)  float32; query head h is columns [h*headDim, (h+1)*headDim)
//   k, v           (S, kvCols) float32 KV cache; KV head g is columns [g*headDim, (g+1)*headDim)
//   rowPos         (T) int32   position p of each query row within its sequence
//   rowCacheStart  (T) int32   cache row of position 0 of that row's sequence
// Query row t, head h reads KV head h / (heads / kvHeads) at cache rows rowCacheStart[t] + 0..p (causal).
// Scores q.k * scale, softmax in float32. One block per (row, head), blockDim.x = TILE threads: each tile of
// TILE keys gets one score per thread; a running max and sum rescale the output (online softmax), so any
// sequence length fits in a small, fixed amount of shared memory.
// Grid: T * heads blocks. Dynamic shared memory: (headDim + TILE) floats. headDim <= MAX_PER_THREAD * TILE.
#include "common.cuh"

#define TILE 128
#define MAX_PER_THREAD 4

extern "C" __global__ void attention(float* out, const float* q, const float* k, const float* v,
                                     const int* rowPos, const int* rowCacheStart,
                                     int heads, int kvHeads, int headDim, int qCols, int kvCols, float scale) {
    extern __shared__ float smem[];
    float* sq = smem;               // (headDim) this row's query head
    float* sp = smem + headDim;     // (TILE)    this tile's softmax numerators
    __shared__ float red[32];

    int row = blockIdx.x / heads, h = blockIdx.x % heads, tid = threadIdx.x;
    int pos = rowPos[row], c0 = rowCacheStart[row], kvOff = h / (heads / kvHeads) * headDim;
    for (int e = tid; e < headDim; e += TILE) sq[e] = q[(size_t) row * qCols + h * headDim + e];
    __syncthreads();

    float m = -INFINITY, l = 0, acc[MAX_PER_THREAD];
    for (int i = 0; i < MAX_PER_THREAD; i++) acc[i] = 0;

    for (int j0 = 0; j0 <= pos; j0 += TILE) {
        int j = j0 + tid, n = min(TILE, pos + 1 - j0);
        float s = -INFINITY;
        if (j <= pos) {
            const float* kr = k + (size_t) (c0 + j) * kvCols + kvOff;
            float dot = 0;
            for (int e = 0; e < headDim; e++) dot += sq[e] * kr[e];
            s = dot * scale;
        }
        float mNew = fmaxf(m, block_reduce(s, red, MaxOp(), -INFINITY));
        float p = j <= pos ? expf(s - mNew) : 0.f;
        sp[tid] = p;
        float corr = expf(m - mNew);            // 0 on the first tile (m = -inf)
        l = l * corr + block_reduce(p, red, SumOp(), 0.f);   // its barriers also publish sp
        for (int i = 0; i < MAX_PER_THREAD; i++) {
            int e = tid + i * TILE;
            if (e >= headDim) break;
            float a = acc[i] * corr;
            const float* vc = v + (size_t) (c0 + j0) * kvCols + kvOff + e;
            for (int t = 0; t < n; t++) a += sp[t] * vc[(size_t) t * kvCols];
            acc[i] = a;
        }
        m = mNew;
        __syncthreads();                        // sp is rewritten by the next tile
    }
    for (int i = 0; i < MAX_PER_THREAD; i++) {
        int e = tid + i * TILE;
        if (e >= headDim) break;
        out[(size_t) row * qCols + h * headDim + e] = acc[i] / l;
    }
}
