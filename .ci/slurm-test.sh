#!/usr/bin/env bash
# Runs a small sweep on a real Slurm: a one-node cluster on localhost.
#
# It installs Slurm and MUNGE from Debian if they are missing, starts
# munged, slurmctld and slurmd (as root, with a generated slurm.conf: no
# cgroups, no accounting), submits the sweep's job array on the tiny
# fixtures (2 tasks × 2 methods × 2 seeds), requeues one running array
# task with "scontrol requeue" to take the resume path, waits for the
# array, and checks that every run finished, that the requeued one
# resumed from its checkpoint, and that "vlpuda sweep report" gives the
# same table as the same grid run in one process. Everything it started is
# stopped on exit. Where a prerequisite is missing it prints SKIPPED and
# the reason.
#
# Run from the repository root: .ci/slurm-test.sh
set -euo pipefail
start=$SECONDS
skip() {
	echo "SKIPPED: slurm test: $*"
	exit 0
}
[ "$(id -u)" = 0 ] || skip "must run as root (it starts munged, slurmctld and slurmd)"
[ -r /proc/meminfo ] || skip "no /proc/meminfo"
[ -r go.mod ] || { echo "slurm test: run from the repository root" >&2; exit 1; }
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
	command -v apt-get >/dev/null || skip "Slurm is not installed and there is no apt-get"
	apt-cache policy slurmctld slurmd munge | grep -q Candidate || skip "apt has no Slurm packages"
	echo "== installing slurm-wlm and munge"
	apt-get update -qq || skip "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null || skip "apt-get install slurm-wlm munge failed"
fi

work=$(mktemp -d /tmp/vlpuda-slurm.XXXXXX)
pids=()
cleanup() {
	set +e
	if [ -n "${SLURM_CONF:-}" ] && [ -n "${job:-}" ]; then scancel "$job" 2>/dev/null; fi
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"

echo "== building vlpuda and the data"
go build -o "$work/bin/vlpuda" ./cmd/vlpuda
go run ./internal/cmd/shapes -n 8 "$work/data"
vlpuda=$work/bin/vlpuda

echo "== starting munged, slurmctld and slurmd"
mkdir -m 700 "$work/munge"
mungekey --create --keyfile="$work/munge/munge.key" --bits=1024 2>/dev/null ||
	dd if=/dev/urandom of="$work/munge/munge.key" bs=1 count=1024 status=none
chmod 400 "$work/munge/munge.key"
munged --foreground --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
	--pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed" \
	>"$work/munge/munged.out" 2>&1 &
pids+=($!)

mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
mkdir -p "$work/state" "$work/spool" "$work/log"
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=vlpudaci
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/builtin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
KillWait=30
MinJobAge=600
SchedulerParameters=defer_batch=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
for i in $(seq 50); do [ -S "$work/munge/munge.socket" ] && break; sleep 0.1; done
slurmctld -D -i -f "$SLURM_CONF" >"$work/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N localhost -f "$SLURM_CONF" >"$work/log/slurmd.out" 2>&1 &
pids+=($!)
fail() {
	echo "FAIL: slurm test: $*" >&2
	for f in "$work"/log/* "$sweep"/slurm/*.out; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}
sweep=$work/sweep
for i in $(seq 60); do
	sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
	[ "$i" = 60 ] && fail "the node did not come up: $(sinfo 2>&1)"
	sleep 1
done
sinfo

echo "== planning the sweep and submitting it"
cat >"$work/grid.json" <<GRID
{
  "model": "$PWD/testdata/clip-tiny/vit/model.safetensors",
  "config": "$PWD/testdata/clip-tiny/vit/config.json",
  "data": "$work/data",
  "preset": "office31",
  "domains": ["src", "tgt"],
  "all_pairs": true,
  "methods": ["cmkd", "source-only+rst"],
  "seeds": [1, 2],
  "threads": 1,
  "overrides": {"epochs": 2, "iters": 60, "batch": 6, "target-batch": 6, "lr": 1e-3, "head-lr-mult": 30,
    "ramp-iters": 120, "eval-batch": 8, "log-every": 1, "rst": 1e-4}
}
GRID
# Without -mem, plan measures the workers' memory with a short probe of each method.
"$vlpuda" sweep plan "$work/grid.json" -out "$sweep" -parallel 2 -grace 20
cat "$sweep/sweep.sbatch"
asked=$(sed -n 's/^#SBATCH --mem=\([0-9]*\)M$/\1/p' "$sweep/sweep.sbatch")
grep -q '"source": "probe"' "$sweep/memory.json" && grep -q "\"request_mib\": $asked," "$sweep/memory.json" ||
	fail "sweep.sbatch's --mem is not the probe's request: $(cat "$sweep/memory.json")"
job=$(sbatch --parsable "$sweep/sweep.sbatch")
echo "submitted job array $job"

echo "== requeueing a running task once it trains"
requeued=
for i in $(seq 600); do
	for t in $(squeue -h -j "$job" -t RUNNING -o '%K' 2>/dev/null); do
		# Requeue it in its first epoch, seconds before it could finish.
		if [ -s "$sweep/runs/$t/log.jsonl" ] && [ ! -e "$sweep/runs/$t/checkpoint.safetensors" ]; then
			scontrol requeue "${job}_$t"
			requeued=$t
			break 2
		fi
	done
	[ -n "$(squeue -h -j "$job" 2>/dev/null)" ] || break
	sleep 0.2
done
[ -n "$requeued" ] || fail "no array task was seen in its first epoch"
echo "requeued task $requeued ($((SECONDS - start)) s)"

echo "== waiting for the array"
for i in $(seq 600); do
	[ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
	[ "$i" = 600 ] && fail "the array did not finish in 10 minutes: $(squeue)"
	# Slurm holds a requeued job back for two minutes (its begin time);
	# make it eligible now.
	if squeue -h -j "${job}_$requeued" -t PENDING -o '%r' 2>/dev/null | grep -q BeginTime; then
		scontrol update JobId="${job}_$requeued" StartTime=now
	fi
	sleep 1
done
"$vlpuda" sweep status "$sweep" | tee "$work/status.txt"
grep -q '8 runs: 8 done' "$work/status.txt" || fail "not every run finished"
peak=$(sed -n 's/^memory: the workers peaked at \([0-9]*\) MiB.*/\1/p' "$work/status.txt")
[ -n "$peak" ] && [ "$peak" -le "$asked" ] || fail "the workers' peak memory (${peak:-none} MiB) is not within the ${asked} MiB asked for"
echo "memory: the probe asked for $asked MiB; the workers peaked at $peak MiB"
log=$(ls "$sweep"/slurm/*_"$requeued".out)
grep -q 'stopped by a signal' "$log" || fail "the requeued task did not stop on SIGTERM"
grep -q 'resuming from' "$log" || fail "the requeued task did not resume from its checkpoint"
echo "task $requeued: stopped on SIGTERM and resumed from its checkpoint"

echo "== the same grid in one process"
"$vlpuda" sweep plan "$work/grid.json" -out "$work/local" >/dev/null
"$vlpuda" sweep run "$work/local" -all -q >/dev/null
"$vlpuda" sweep report "$sweep" >"$work/slurm.md"
"$vlpuda" sweep report "$work/local" >"$work/local.md"
cat "$work/slurm.md"
diff "$work/slurm.md" "$work/local.md" || fail "the Slurm sweep's table differs from the in-process one"
cmp "$sweep/report.json" "$work/local/report.json" || fail "report.json differs"
for t in $(seq 0 7); do
	cmp "$sweep/runs/$t/confusion.csv" "$work/local/runs/$t/confusion.csv" || fail "run $t: confusion.csv differs"
done
echo "PASS: slurm test: 8 runs, one requeued and resumed, tables identical ($((SECONDS - start)) s)"
