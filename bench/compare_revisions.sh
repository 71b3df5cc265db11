#!/bin/sh
# compare_revisions.sh times two revisions of vlpuda against each other on
# this machine: the SGEMM and layer-norm kernels (go test -bench, compared
# with benchstat) and the CLIP towers (vlpuda bench clip), alternating the
# two revisions round by round so that a drift of the machine hits both
# alike. Not part of CI; run it on an otherwise idle machine.
#
#	bench/compare_revisions.sh OLD NEW          # e.g. 6662a26 HEAD
#	ROUNDS=3 CASES=rn50-fwd-8 bench/compare_revisions.sh OLD NEW
#
# ROUNDS (default 5) is the number of alternations; BENCH is the go test
# -bench pattern; CASES the bench clip cases (empty: skip the towers);
# THREADS the towers' thread count. Results land in $OUT (default a new
# temporary folder): old.txt and new.txt (benchstat input), clip-old.jsonl
# and clip-new.jsonl, and the printed summary.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 OLD NEW" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
ROUNDS=${ROUNDS:-5}
BENCH=${BENCH:-'^(BenchmarkSgemm|BenchmarkRows)$/(1024|50x|197x|1576x|LayerNorm).*'}
BENCHTIME=${BENCHTIME:-0.5s}
CASES=${CASES:-vit-b32-fwd-8,vit-b16-fwd-8,rn50-fwd-8,vit-b16-train-8}
THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
unset OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS OPENBLAS_VERBOSE

build() { # build REV NAME: the kernels test binary and vlpuda at REV
	rev=$(cd "$root" && git rev-parse --verify "$1^{commit}")
	wt="$OUT/src-$2"
	rm -rf "$wt"
	(cd "$root" && git worktree add -q --detach "$wt" "$rev")
	(cd "$wt" && go test -c -o "$OUT/kernels-$2.test" ./kernels && go build -o "$OUT/vlpuda-$2" ./cmd/vlpuda)
	(cd "$root" && git worktree remove --force "$wt")
	echo "$2 = $1 ($rev)"
}
build "$1" old
build "$2" new
: >"$OUT/old.txt"
: >"$OUT/new.txt"
: >"$OUT/clip-old.jsonl"
: >"$OUT/clip-new.jsonl"
grep -m1 'model name' /proc/cpuinfo || true
for r in $(seq "$ROUNDS"); do
	for v in old new; do
		echo "round $r/$ROUNDS: $v" >&2
		(cd "$root/kernels" && "$OUT/kernels-$v.test" -test.run '^$' -test.bench "$BENCH" \
			-test.benchtime "$BENCHTIME" -test.count 1) | grep -v gonum >>"$OUT/$v.txt"
		if [ -n "$CASES" ]; then
			"$OUT/vlpuda-$v" bench clip -q -json -threads "$THREADS" -cases "$CASES" >>"$OUT/clip-$v.jsonl"
		fi
	done
done

benchstat=${BENCHSTAT:-"go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"}
$benchstat "$OUT/old.txt" "$OUT/new.txt" | tee "$OUT/benchstat.txt"
if [ -n "$CASES" ]; then
	# The towers: median images/s of each case over the rounds, and the
	# ratio new/old.
	for v in old new; do
		awk -v rev="$v" '
		function field(line, key,   r) {
			if (match(line, "\"" key "\":[^,}]*")) { r = substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3); gsub(/"/, "", r); return r }
			return ""
		}
		{ print rev, field($0, "case"), field($0, "images_per_sec") }' "$OUT/clip-$v.jsonl"
	done | sort -k2,2 -k1,1 -k3,3n | awk '
	{ key = $2 " " $1; v[key, ++n[key]] = $3; cases[$2] = 1 }
	function median(key,   c) { c = n[key]; return c % 2 ? v[key, (c + 1) / 2] : (v[key, c / 2] + v[key, c / 2 + 1]) / 2 }
	END {
		printf "%-18s %12s %12s %8s\n", "case", "old img/s", "new img/s", "new/old"
		for (c in cases) printf "%-18s %12.2f %12.2f %8.3f\n", c, median(c " old"), median(c " new"), median(c " new") / median(c " old")
	}' | tee "$OUT/clip.txt"
fi
echo "results in $OUT"
