#!/usr/bin/env bash
# check.sh: the GPU check of kernels/cuda, in one go, on a machine with an
# NVIDIA GPU and its driver. It builds nothing and needs no Go: it runs the
# test binary built beforehand on any Linux/amd64 machine with
#
#     make gpu-check-bin
#     # that is: CGO_ENABLED=0 go test -c -tags cuda -trimpath -o bench/gpu/cuda.test ./kernels/cuda
#
# and carried here with the working tree. Run it from anywhere:
#
#     bench/gpu/check.sh
#
# It finds cuBLAS (VLPUDA_CUDA_LIB if set, else the system's libraries,
# /usr/local/cuda*, or the nvidia-cublas wheel beside PyTorch), prints the
# device, runs every test of kernels/cuda with -v (the GPU ones compare
# cuBLAS SGEMM and each PTX kernel with the CPU kernels and time SGEMM at
# 4096³), and exits non-zero if a test fails or a GPU test skipped. Where
# python3 has torch with CUDA it also times torch.matmul at 4096³ (FP32 and
# TF32) for comparison. It takes about a minute; the tests stop at 4 minutes.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin="$here/cuda.test"
if [ ! -x "$bin" ]; then
	echo "check.sh: $bin is missing: build it with 'make gpu-check-bin' (CGO_ENABLED=0 go test -c -tags cuda -trimpath -o bench/gpu/cuda.test ./kernels/cuda)" >&2
	exit 2
fi

echo "== device"
if command -v nvidia-smi >/dev/null; then
	nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader || nvidia-smi -L
else
	echo "nvidia-smi not found"
fi

# cuBLAS is not part of the driver: find a directory that holds it.
if [ -z "${VLPUDA_CUDA_LIB:-}" ] && ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so'; then
	dirs=""
	for d in /usr/local/cuda/lib64 /usr/local/cuda-*/lib64 /usr/local/cuda/targets/*/lib; do
		ls "$d"/libcublas.so* >/dev/null 2>&1 && dirs="$dirs:$d"
	done
	if command -v python3 >/dev/null; then
		d=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null) &&
			ls "$d"/libcublas.so* >/dev/null 2>&1 && dirs="$dirs:$d"
	fi
	if [ -z "$dirs" ]; then
		d=$(timeout 30 find / -xdev -name 'libcublas.so.*' -not -path '/proc/*' 2>/dev/null | head -1)
		[ -n "$d" ] && dirs=":$(dirname "$d")"
	fi
	export VLPUDA_CUDA_LIB="${dirs#:}"
fi
# cuBLAS loads libcublasLt from its own directory or the loader's path.
[ -n "${VLPUDA_CUDA_LIB:-}" ] && export LD_LIBRARY_PATH="$VLPUDA_CUDA_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "VLPUDA_CUDA_LIB=${VLPUDA_CUDA_LIB:-} (searched before the dynamic loader's path)"

echo "== kernels/cuda tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
(cd "$root/kernels/cuda" && timeout 240 "$bin" -test.v -test.count=1 -test.timeout 235s) 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

echo "== summary"
grep -E '^\s*(--- (FAIL|SKIP)|.*(TFLOP/s|largest difference|RMS error|device [0-9]+:))' "$log" | sed 's/^ *//'
if [ "$status" -ne 0 ]; then
	echo "check.sh: FAIL: the tests exited with status $status" >&2
	exit 1
fi
if grep -q -- '--- SKIP: TestGPU' "$log"; then
	echo "check.sh: FAIL: GPU tests skipped (no usable device; the reason is above)" >&2
	exit 1
fi

if command -v python3 >/dev/null && python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
	echo "== PyTorch torch.matmul at 4096³ on the same device"
	timeout 120 python3 "$here/torch_sgemm.py" || echo "torch comparison failed (not counted)"
else
	echo "== PyTorch with CUDA not found: no comparison"
fi
echo "check.sh: PASS"
