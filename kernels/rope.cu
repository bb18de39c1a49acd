// Rotate-half RoPE (Hugging Face layout), in place. For each row t, head h and i < headDim/2 the pair
// (x[i], x[i + headDim/2]) of that head is rotated by the angle positions[t] * invFreq[i], whose cos / sin the host
// tabulated once per position (in double, rounded to float, so both backends rotate by the same float cos / sin).
//   x         (rows, cols) float32, cols >= heads * headDim
//   cos, sin  (P, headDim / 2) float32 tables: row p is position p; every positions[t] < P
//   positions (rows) int32
// Grid: (rows, ceil(heads * headDim/2 / blockDim.x)): rows in x, which allows 2^31 - 1 of them (y allows 65,535).
#include "common.cuh"

extern "C" __global__ void rope(float* x, const float* cos, const float* sin, const int* positions, int heads, int headDim, int cols) {
    int half = headDim / 2, t = blockIdx.x, idx = blockIdx.y * blockDim.x + threadIdx.x;
    if (idx >= heads * half) return;
    int h = idx / half, i = idx % half;
    float* v = x + (size_t) t * cols + h * headDim;
    size_t at = (size_t) positions[t] * half + i;
    float c = cos[at], s = sin[at];
    float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = b * c + a * s;
}
