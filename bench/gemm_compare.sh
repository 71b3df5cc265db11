#!/bin/sh
# gemm_compare.sh times vlpuda's Sgemm, gonum's and OpenBLAS's cblas_sgemm on
# the same shapes and thread counts, alternating the libraries shape by
# shape, and prints one table with the ratios. It installs libopenblas-dev
# and gcc when they are missing (bench/openblas/run.sh). Not part of CI; run
# it on an otherwise idle machine.
#
#	bench/gemm_compare.sh            # all shapes, 1 and 2 threads
#	THREADS=2 SHAPES="50x2304x768 1024x1024x1024" bench/gemm_compare.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
THREADS=${THREADS:-1,2}
SHAPES=${SHAPES:-"256x256x256 512x512x512 1024x1024x1024 2048x2048x2048 50x2304x768 50x3072x768 50x768x3072 197x2304x768 197x3072x768 197x768x3072 1576x3072x768 1576x768x3072"}
TIME=${TIME:-0.5}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/vlpuda" ./cmd/vlpuda)
for s in $SHAPES; do
	# shellcheck disable=SC2046
	"$here/openblas/run.sh" -t "$THREADS" -s "$TIME" $(echo "$s" | tr x ' ') >>"$tmp/openblas.jsonl"
	"$tmp/vlpuda" bench gemm -q -json -threads "$THREADS" -shapes "$s" -time "${TIME}s" >>"$tmp/vlpuda.jsonl"
done

# Join the two JSON-line files on (m, n, k, threads).
awk '
function field(line, key,   r) {
	if (match(line, "\"" key "\":[^,}]*")) { r = substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3); gsub(/"/, "", r); return r }
	return ""
}
FNR == NR { ob[field($0, "m") "x" field($0, "n") "x" field($0, "k") "/" field($0, "threads")] = field($0, "gflops"); next }
FNR == 1 { printf "%-16s %7s %6s %9s %7s %9s %9s %8s %8s\n", "shape", "threads", "isa", "vlpuda", "%peak", "openblas", "gonum", "×openbl", "×gonum" }
{
	key = field($0, "m") "x" field($0, "n") "x" field($0, "k") "/" field($0, "threads")
	split(key, kk, "/")
	v = field($0, "gflops"); g = field($0, "gonum_gflops"); o = ob[key]
	printf "%-16s %7s %6s %9.1f %7.1f %9.1f %9.1f %8.2f %8.1f\n", kk[1], kk[2], field($0, "isa"), v, field($0, "peak_percent"), o, g, (o > 0 ? v / o : 0), (g > 0 ? v / g : 0)
}' "$tmp/openblas.jsonl" "$tmp/vlpuda.jsonl"
