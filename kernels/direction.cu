// The refusal-direction edits of the residual stream (SPEC.md, "Refusal direction"), in place.
//   project_out: x[t] -= (x[t] . u) u for every row t (directional ablation)
//   add_row:     x[t] += row for every row t (activation addition)
//   x (rows, n) float32; u (n) float32 of unit norm; row (n) float32
// project_out: grid rows blocks, blockDim.x a multiple of 32; the dot product is summed in double (as rmsnorm's
// sum of squares), rounded once to float, and each element updated with one fused multiply-add, as the CPU does.
// add_row: grid (rows, ceil(n / blockDim.x)).
#include "common.cuh"

extern "C" __global__ void project_out(float* x, const float* u, int n) {
    __shared__ double red[32];
    float* r = x + (size_t) blockIdx.x * n;
    double dot = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) dot += (double) r[i] * u[i];
    float p = (float) block_reduce(dot, red, DSumOp(), 0.0);   // every thread has read its elements before any is written
    for (int i = threadIdx.x; i < n; i += blockDim.x) r[i] = __fmaf_rn(-p, u[i], r[i]);
}

extern "C" __global__ void add_row(float* x, const float* row, int n) {
    int t = blockIdx.x, c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c < n) x[(size_t) t * n + c] += row[c];
}
