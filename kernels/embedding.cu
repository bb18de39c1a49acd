// Embedding gather: out[t] = table[tokens[t]] as float32.
//   out    (T, dim)      float32
//   table  (vocab, dim)  f32 / bf16 / f16 weight
//   tokens (T)           int32, already range-checked on the host
// Grid: (ceil(dim / blockDim.x), T).
#include "common.cuh"

template <typename W>
__device__ void embed(float* out, const W* table, const int* tokens, int dim) {
    int t = blockIdx.y, i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < dim) out[(size_t) t * dim + i] = to_f32(table[(size_t) tokens[t] * dim + i]);
}

#define EMBED(NAME, W) \
    extern "C" __global__ void embed_##NAME(float* out, const W* table, const int* tokens, int dim) { embed(out, table, tokens, dim); }
FOR_EACH_WEIGHT_DTYPE(EMBED)
