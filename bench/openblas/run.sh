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
# OPENBLAS_NUM_THREADS caps the pool; sgemm_bench sets the count per run.
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-$(nproc)} "$bin" "$@"
