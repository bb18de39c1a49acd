// Row gather and scatter between float32 matrices with the same number of columns.
//   gather_rows:  out[i] = x[rows[i]]      out (len, cols); x (R, cols)
//   scatter_rows: dst[rows[i]] = src[i]    dst (R, cols);   src (len, cols)
//   rows (len) int32, range-checked on the host
// Grid: (len, ceil(cols / blockDim.x)): rows in x, which allows 2^31 - 1 of them (y allows 65,535).
#include "common.cuh"

extern "C" __global__ void gather_rows(float* out, const float* x, const int* rows, int cols) {
    int i = blockIdx.x, c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c < cols) out[(size_t) i * cols + c] = x[(size_t) rows[i] * cols + c];
}

extern "C" __global__ void scatter_rows(float* dst, const float* src, const int* rows, int cols) {
    int i = blockIdx.x, c = blockIdx.y * blockDim.x + threadIdx.x;
    if (c < cols) dst[(size_t) rows[i] * cols + c] = src[(size_t) i * cols + c];
}
