// SwiGLU: gate = silu(gate) * up, elementwise.
//   gate, up (n) float32 (any shape, flattened)
// Grid-stride over n.
#include "common.cuh"

extern "C" __global__ void swiglu(float* gate, const float* up, long long n) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        float g = gate[i];
        gate[i] = g / (1.f + expf(-g)) * up[i];
    }
}
