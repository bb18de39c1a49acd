// Residual add: x += y, elementwise.
//   x, y (n) float32 (any shape, flattened)
// Grid-stride over n.
#include "common.cuh"

extern "C" __global__ void add(float* x, const float* y, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) x[i] += y[i];
}
