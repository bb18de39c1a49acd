// Row gather and scatter between float32 matrices with the same number of columns.
//   gather_rows:  out[i] = x[rows[i]]      out (len, cols); x (R, cols)
//   scatter_rows: dst[rows[i]] = src[i]    dst (R, cols);   src (len, cols)
//   rows (len) int32, range-checked on the host
// Grid: (ceil(cols / blockDim.x), len).
#include "common.cuh"

extern "C" __global__ void gather_rows(float* out, const float* x, const int* rows, int cols) {
    int i = blockIdx.y, c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < cols) out[(size_t) i * cols + c] = x[(size_t) rows[i] * cols + c];
}

extern "C" __global__ void scatter_rows(float* dst, const float* src, const int* rows, int cols) {
    int i = blockIdx.y, c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < cols) dst[(size_t) rows[i] * cols + c] = src[(size_t) i * cols + c];
}
