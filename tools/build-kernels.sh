#!/usr/bin/env bash
# Compiles kernels/*.cu with nvcc: PTX for compute_80 into engine/src/main/resources/kernels/ (committed, so a
# build without nvcc still ships working kernels, JIT-compiled by the driver) and a fatbin per family with
# SASS for sm_80 + sm_90 and compute_90 PTX into engine/target/classes/kernels/ (packaged in
# engine.jar; preferred at load time). Each PTX is then checked offline with `ptxas -arch=sm_90`.
# Skips a family whose outputs are newer than its source and common.cuh. The engine's Maven profile `kernels`
# runs this in generate-resources (active when /usr/local/cuda/bin/nvcc exists, or with -Pkernels).
# nvcc: $NVCC, else /usr/local/cuda/bin/nvcc, else nvcc on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
NVCC=${NVCC:-}
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
[ -z "$NVCC" ] && NVCC=$(command -v nvcc || true)
[ -n "$NVCC" ] || { echo "build-kernels: no nvcc (set NVCC or put it on PATH); the committed PTX is used" >&2; exit 0; }
PTXAS="$(dirname "$NVCC")/ptxas"
[ -x "$PTXAS" ] || PTXAS=$(command -v ptxas || true)
ptx_dir=engine/src/main/resources/kernels
fat_dir=engine/target/classes/kernels
mkdir -p "$ptx_dir" "$fat_dir"
flags=(-std=c++17 -O3 -Ikernels -Xptxas=-warn-spills)
built=0
for cu in kernels/*.cu; do
  name=$(basename "$cu" .cu)
  ptx="$ptx_dir/$name.ptx" fat="$fat_dir/$name.fatbin"
  if [ "$ptx" -nt "$cu" ] && [ "$ptx" -nt kernels/common.cuh ] && [ "$fat" -nt "$cu" ] && [ "$fat" -nt kernels/common.cuh ]; then continue; fi
  "$NVCC" "${flags[@]}" -ptx -arch=compute_80 -o "$ptx" "$cu"
  "$NVCC" "${flags[@]}" -fatbin -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
      -gencode arch=compute_90,code=compute_90 -o "$fat" "$cu"
  if [ -n "$PTXAS" ]; then "$PTXAS" -arch=sm_90 -o /dev/null "$ptx"; fi
  built=$((built + 1))
done
echo "build-kernels: $built of $(ls kernels/*.cu | wc -l) kernel families compiled with $("$NVCC" --version | tail -1)"
