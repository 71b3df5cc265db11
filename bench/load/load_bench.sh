#!/usr/bin/env bash
# load_bench.sh times loading a real-size CLIP checkpoint: vlpuda inspect,
# vlpuda encode of one text (the load plus one pass of the text tower) and
# torch.load of the same file (bench/load/torch_load.py, when python3 has
# torch; also torch.load then .float() of every tensor, the float32
# weights vlpuda makes), alternating them ROUNDS times, and prints the
# median wall time, CPU time (user + system, which other processes on a
# shared machine disturb less) and peak resident memory of each with
# their ranges, and the CPU. The checkpoints (random weights, OpenAI's
# fp16 layout) are made by bench/load/gen under DIR unless they are there
# already.
#
#   bench/load/load_bench.sh [-rounds N] [-dir DIR] [-models "ViT-B/16 ViT-L/14"]
#                            [-formats "pt safetensors"] [-vlpuda BIN] [-base BIN]
#
# -base BIN also times another vlpuda binary (an older commit) in the same
# rounds, for before/after numbers on the same machine. Each round starts
# with the next of vlpuda, base and torch, which makes a difference (see
# the loop): give a multiple of their number as ROUNDS. Shared machines
# drift: compare only numbers from one run of the script.
set -euo pipefail

rounds=5
dir=/tmp/vlpuda-load-bench
models="ViT-B/16"
formats="pt safetensors"
vlpuda=""
base=""
while [ $# -gt 0 ]; do
	case $1 in
	-rounds) rounds=$2; shift 2 ;;
	-dir) dir=$2; shift 2 ;;
	-models) models=$2; shift 2 ;;
	-formats) formats=$2; shift 2 ;;
	-vlpuda) vlpuda=$2; shift 2 ;;
	-base) base=$2; shift 2 ;;
	*) echo "usage: $0 [-rounds N] [-dir DIR] [-models M] [-formats F] [-vlpuda BIN] [-base BIN]" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir"
if [ -z "$vlpuda" ]; then
	vlpuda=$dir/vlpuda
	(cd "$repo" && go build -o "$vlpuda" ./cmd/vlpuda)
fi
(cd "$repo" && go build -o "$dir/gen" ./bench/load/gen)
[ -f "$dir/inputs.safetensors" ] || "$dir/gen" -inputs "$dir/inputs.safetensors"
torch=no
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then torch=yes; fi

results=$dir/results.txt
: >"$results"

# measure NAME CMD... appends "NAME seconds MiB cpu-seconds" for one run of CMD, whose
# output it leaves in $dir/last.out.
measure() {
	local name=$1
	shift
	local t
	t=$(mktemp)
	if ! /usr/bin/time -f "%e %M %U %S" -o "$t" "$@" >"$dir/last.out" 2>"$t.err"; then
		echo "$name failed:" >&2
		cat "$t.err" >&2
		exit 1
	fi
	awk -v n="$name" '{printf "%s %s %.0f %.2f\n", n, $1, $2 / 1024, $3 + $4}' "$t" >>"$results"
	rm -f "$t" "$t.err"
}

for model in $models; do
	slug=$(echo "$model" | tr 'A-Z/' 'a-z-')
	for format in $formats; do
		file=$dir/$slug.$format
		if [ ! -f "$file" ]; then
			echo "writing $file" >&2
			"$dir/gen" -model "$model" -format "$format" -out "$file"
		fi
	done
done

# run_vlpuda TAG BIN FILE SLUG.FORMAT times inspect and encode of FILE.
run_vlpuda() {
	measure "$4 $1-inspect" "$2" inspect "$3"
	rm -f "$dir/out.safetensors"
	measure "$4 $1-encode" "$2" encode -model "$3" -inputs "$dir/inputs.safetensors" -out "$dir/out.safetensors"
}

# run_torch FILE SLUG.FORMAT times torch_load.py on FILE. It prints
# "torch.load ... X.XX s, Y.YY s CPU, peak RSS N MiB" for torch.load alone
# and "torch.load+float ..." for it and .float() of every tensor (each
# peak includes importing torch).
run_torch() {
	measure "$2 torch-process" /usr/bin/python3 "$repo/bench/load/torch_load.py" "$1"
	for what in torch.load torch.load+float; do
		grep "^$what " "$dir/last.out" |
			sed -E 's/.* ([0-9.]+) s, ([0-9.]+) s CPU, peak RSS ([0-9]+) MiB/\1 \3 \2/' |
			awk -v n="$2 $what" '{print n, $1, $2, $3}' >>"$results"
	done
}

for round in $(seq "$rounds"); do
	echo "round $round of $rounds" >&2
	for model in $models; do
		slug=$(echo "$model" | tr 'A-Z/' 'a-z-')
		for format in $formats; do
			file=$dir/$slug.$format
			runners=(vlpuda)
			[ -z "$base" ] || runners+=(base)
			[ $torch = no ] || [ "$format" != pt ] || runners+=(torch)
			# Whoever runs first in a round faults its memory in fresh; the
			# next may find pages just freed, which on a virtual machine can
			# be several times faster: each round starts with the next one.
			n=${#runners[@]}
			for i in $(seq 0 $((n - 1))); do
				case ${runners[(i + round) % n]} in
				vlpuda) run_vlpuda vlpuda "$vlpuda" "$file" "$slug.$format" ;;
				base) run_vlpuda base "$base" "$file" "$slug.$format" ;;
				torch) run_torch "$file" "$slug.$format" ;;
				esac
			done
		done
	done
done

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) threads; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "torch: $([ $torch = yes ] && /usr/bin/python3 -c 'import torch; print(torch.__version__)' || echo absent)"
printf '%-22s %-16s %22s %22s %22s\n' file what "seconds (min-max)" "CPU s (min-max)" "peak MiB (min-max)"
sort -k1,2 "$results" | awk '
function median(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function flush() {
	if (n == 0) return
	ms = median(s, n); lo = s[1]; hi = s[n]
	mc = median(c, n); clo = c[1]; chi = c[n]
	mm = median(m, n); mlo = m[1]; mhi = m[n]
	printf "%-22s %-16s %8.2f (%.2f-%.2f) %8.2f (%.2f-%.2f) %8.0f (%.0f-%.0f)\n", file, what, ms, lo, hi, mc, clo, chi, mm, mlo, mhi
	n = 0
}
{
	if ($1 != file || $2 != what) { flush(); file = $1; what = $2 }
	n++; s[n] = $3 + 0; m[n] = $4 + 0; c[n] = $5 + 0
}
END { flush() }'
