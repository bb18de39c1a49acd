// Embedding gather: out[t] = table[tokens[t]] as float32.
//   out    (T, dim)      float32
//   table  (vocab, dim)  f32 / bf16 / f16 weight
//   tokens (T)           int32, already range-checked on the host
// Grid: (T, ceil(dim / blockDim.x)): rows in x, which allows 2^31 - 1 of them (y allows 65,535).
#include "common.cuh"

template <typename W>
__device__ void embed(float* out, const W* table, const int* tokens, int dim) {
    int t = blockIdx.x, i = blockIdx.y * blockDim.x + threadIdx.x;
    if (i < dim) out[(size_t) t * dim + i] = to_f32(table[(size_t) tokens[t] * dim + i]);
}

#define EMBED(NAME, W) \
    extern "C" __global__ void embed_##NAME(float* out, const W* table, const int* tokens, int dim) { embed(out, table, tokens, dim); }
FOR_EACH_WEIGHT_DTYPE(EMBED)
