// Stand-in for CUDA's <cuda_fp16.h> when kernels/*.cu are compiled as C++ for the CPU emulation
// (tools/build-cuda-emulation.sh puts this folder first on the include path).
#pragma once
#include "cuda_emulation.h"
