#!/bin/sh
# run.sh builds and runs sgemm_bench against Debian's OpenBLAS, installing
# libopenblas-dev when it is missing. Arguments go to sgemm_bench, e.g.
#
#	bench/openblas/run.sh -t 1,2 -s 0.5
#	bench/openblas/run.sh -t 2 1024 1024 1024
#
# It prints one JSON line per shape and thread count. Time only on an idle
# machine. Not part of CI.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev gcc >/dev/null
fi
bin=$(mktemp -d)/sgemm_bench
trap 'rm -rf "$(dirname "$bin")"' EXIT
gcc -O2 -Wall -o "$bin" "$here/sgemm_bench.c" -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas
# OpenBLAS runs as its users get it, with its own core detection: some
# machines set OPENBLAS_CORETYPE=Haswell or OPENBLAS_L2_SIZE, which hide its
# AVX-512 kernels or change its blocking, so every OPENBLAS_* setting but
# the thread cap is dropped. OPENBLAS_NUM_THREADS caps the pool;
# sgemm_bench sets the count per run.
threads=${OPENBLAS_NUM_THREADS:-$(nproc)}
for v in $(env | sed -n 's/^\(OPENBLAS_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$v"
done
OPENBLAS_NUM_THREADS=$threads "$bin" "$@"
