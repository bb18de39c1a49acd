// Rotate-half RoPE (Hugging Face layout), in place. For each row t, head h and i < headDim/2 the pair
// (x[i], x[i + headDim/2]) of that head is rotated by the angle whose cos / sin the host computed
// (positions[t] * invFreq[i], in double, so both backends rotate by the same float cos / sin).
//   x        (rows, cols) float32, cols >= heads * headDim
//   cos, sin (rows, headDim / 2) float32
// Grid: (ceil(heads * headDim/2 / blockDim.x), rows).
#include "common.cuh"

extern "C" __global__ void rope(float* x, const float* cos, const float* sin, int heads, int headDim, int cols) {
    int half = headDim / 2, t = blockIdx.y, idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= heads * half) return;
    int h = idx / half, i = idx % half;
    float* v = x + (size_t) t * cols + h * headDim;
    float c = cos[(size_t) t * half + i], s = sin[(size_t) t * half + i];
    float a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = b * c + a * s;
}
