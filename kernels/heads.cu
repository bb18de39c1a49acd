// Per-head ablation edit, in place (see ablate/HeadEdit.java): for each head h of each row, first (if
// mean[h]) its slice is replaced by the mean over all heads of the original row, then it is scaled by scale[h].
//   x      (rows, cols) float32, cols >= heads * headDim
//   scale  (heads) float32
//   mean   (heads) int32 (0 / 1)
// Grid: rows blocks. Dynamic shared memory: headDim floats (the row's mean over heads).
#include "common.cuh"

extern "C" __global__ void edit_heads(float* x, const float* scale, const int* mean, int anyMean, int heads, int headDim, int cols) {
    extern __shared__ float avg[];  // (headDim)
    float* r = x + (size_t) blockIdx.x * cols;
    if (anyMean) {
        for (int i = threadIdx.x; i < headDim; i += blockDim.x) {
            double s = 0;
            for (int h = 0; h < heads; h++) s += r[h * headDim + i];
            avg[i] = (float) (s / heads);
        }
        __syncthreads();            // every head's mean is read before any head is overwritten
    }
    for (int idx = threadIdx.x; idx < heads * headDim; idx += blockDim.x) {
        int h = idx / headDim, i = idx % headDim;
        if (!mean[h] && scale[h] == 1.f) continue;
        r[idx] = (mean[h] ? avg[i] : r[idx]) * scale[h];
    }
}
