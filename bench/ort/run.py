#!/usr/bin/python3
"""Time CLIP image towers in ONNX Runtime and in vlpuda, case by case.

Steps, each skipped when already done:
  1. install what is missing: Debian's python3-torch (for the export) with
     apt-get, and onnxruntime-node at the version package-lock.json pins
     with `npm ci --ignore-scripts` (the CPU binaries ship in the npm
     package; its install script only fetches optional CUDA files);
  2. export the towers of bench/pytorch/clip_bench.py with their random
     weights to ONNX (export.py; cached in bench/ort/models);
  3. build vlpuda from this checkout (or use --vlpuda);
  4. check that both engines compute the same function: each tower runs on
     the same two images in ONNX Runtime, in vlpuda (`vlpuda encode` on the
     same weights under OpenAI's names) and in PyTorch (export.py), and the
     largest difference of the features, relative to their largest
     magnitude, must be under 1e-3;
  5. time each case (tower x batch) --rounds times, alternating the engines
     and which goes first, each run in a fresh process with the same thread
     count, and print a Markdown table: the median images/s of each engine
     with its range, the median of the per-round ratios vlpuda/ORT with its
     range, the tower's nominal GFLOP per image and each engine's median
     percentage of the FMA peak vlpuda measured in the same round, and each
     engine's largest peak resident memory.

OPENBLAS_* variables are removed from the environment of every child.
Time only on an otherwise idle machine.

Usage: /usr/bin/python3 bench/ort/run.py [--threads N] [--rounds 5] [--reps 3]
           [--cases vit-b32-fwd-1,...] [--vlpuda ./vlpuda]
"""
import argparse
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PYTHON = "/usr/bin/python3"  # Debian's, with python3-torch; pyenv shims may shadow python3
CASES = ["vit-b32-fwd-1", "vit-b32-fwd-8", "vit-b16-fwd-1", "vit-b16-fwd-8", "rn50-fwd-1", "rn50-fwd-8"]
TOLERANCE = 1e-3


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of each engine (default: all cores)")
    p.add_argument("--rounds", type=int, default=5, help="runs of each case per engine")
    p.add_argument("--reps", type=int, default=3, help="timed batches per run (the best counts)")
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--vlpuda", help="vlpuda binary (default: build this checkout)")
    p.add_argument("--models", default=os.path.join(HERE, "models"), help="folder of the exported models")
    a = p.parse_args()
    cases = a.cases.split(",")
    for c in cases:
        if c not in CASES:
            usage("--cases: unknown case %r (want some of %s)" % (c, ",".join(CASES)))
    if a.threads < 1 or a.rounds < 1 or a.reps < 1:
        usage("--threads, --rounds and --reps must be positive")
    for k in [k for k in os.environ if k.startswith("OPENBLAS_")]:
        del os.environ[k]

    install()
    towers = sorted({c.rsplit("-", 2)[0] for c in cases}, key=lambda m: CASES.index(m + "-fwd-1"))
    run([PYTHON, os.path.join(HERE, "export.py"), "--out", a.models, "--models", ",".join(towers)])
    with tempfile.TemporaryDirectory() as tmp:
        vlpuda = a.vlpuda or build_vlpuda(tmp)
        isa = vlpuda_isa(vlpuda)
        check(vlpuda, a.models, towers, tmp)
        load = os.getloadavg()
        rows = [time_case(c, vlpuda, a) for c in cases]
    print("\nCPU: %s; threads: %d; vlpuda ISA: %s; %s" % (cpu_model(), a.threads, isa, rows[0][1][0][0]["engine"]))
    print("load average (1, 5, 15 min) before the timing: %.1f %.1f %.1f; after: %.1f %.1f %.1f\n" % (
        load + os.getloadavg()))
    print_table(rows)


def usage(msg):
    print("run.py: " + msg, file=sys.stderr)
    sys.exit(2)


def fail(msg):
    print("run.py: " + msg, file=sys.stderr)
    sys.exit(1)


def run(args, **kw):
    """Runs args, its output going to ours, and fails with its name if it fails."""
    r = subprocess.run(args, **kw)
    if r.returncode != 0:
        fail("%s exited with status %d" % (" ".join(args), r.returncode))
    return r


def output(args):
    """Runs args and returns its standard output."""
    return run(args, stdout=subprocess.PIPE, text=True).stdout


def install():
    """Installs python3-torch and onnxruntime-node when they are missing, or
    says what to install."""
    if subprocess.run([PYTHON, "-c", "import torch"], stderr=subprocess.DEVNULL).returncode != 0:
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            fail("the export needs PyTorch for %s: apt-get install python3-torch (Debian)" % PYTHON)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(["apt-get", "update", "-qq"])
        run(["apt-get", "install", "-y", "-qq", "python3-torch"], env=env)
    if not shutil.which("node") or not shutil.which("npm"):
        fail("ONNX Runtime runs in Node.js: install Node.js 20 or later and npm (apt-get install nodejs npm)")
    if not os.path.exists(os.path.join(HERE, "node_modules", "onnxruntime-node", "package.json")):
        run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=HERE)


def build_vlpuda(tmp):
    exe = os.path.join(tmp, "vlpuda")
    run([os.environ.get("GO", "go"), "build", "-o", exe, "./cmd/vlpuda"], cwd=ROOT)
    return exe


def check(vlpuda, models, towers, tmp):
    """Compares the features of ONNX Runtime, vlpuda and PyTorch on the
    images export.py saved, and fails when two differ by more than
    TOLERANCE relative to the largest magnitude."""
    print("\ncorrectness: the same 2 images and weights; max |a-b| / max |PyTorch|", flush=True)
    for m in towers:
        base = os.path.join(models, m)
        ort_out = os.path.join(tmp, m + ".ort.f32")
        run(["node", os.path.join(HERE, "bench.mjs"), "--model", base + ".onnx",
             "--input", base + ".input.f32", "--output", ort_out])
        vlp_out = os.path.join(tmp, m + ".vlpuda.safetensors")
        output([vlpuda, "encode", "-force", "-model", base + ".check.safetensors", "-config", base + ".check.json",
                "-inputs", base + ".inputs.safetensors", "-out", vlp_out])
        ref = read_f32(base + ".torch.f32")
        ort, vlp = read_f32(ort_out), read_safetensors_f32(vlp_out, "image_features")
        if not len(ref) == len(ort) == len(vlp):
            fail("%s: feature counts differ: PyTorch %d, ORT %d, vlpuda %d" % (m, len(ref), len(ort), len(vlp)))
        scale = max(abs(v) for v in ref)
        diffs = {"ORT-PyTorch": maxdiff(ort, ref), "vlpuda-PyTorch": maxdiff(vlp, ref), "vlpuda-ORT": maxdiff(vlp, ort)}
        print("  %-8s %s (max |PyTorch| %.3g)" % (
            m, ", ".join("%s %.2e" % (k, d / scale) for k, d in diffs.items()), scale), flush=True)
        if max(diffs.values()) > TOLERANCE * scale:
            fail("%s: the engines disagree by more than %g" % (m, TOLERANCE))


def maxdiff(a, b):
    return max(abs(x - y) for x, y in zip(a, b))


def read_f32(path):
    v = array("f")
    with open(path, "rb") as f:
        v.frombytes(f.read())
    if sys.byteorder != "little":
        v.byteswap()
    return v


def read_safetensors_f32(path, name):
    """Returns the float32 tensor name of a safetensors file, flattened."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    entry = json.loads(data[8:8 + n]).get(name)
    if entry is None or entry["dtype"] != "F32":
        fail("read %s: no F32 tensor %r" % (path, name))
    lo, hi = entry["data_offsets"]
    v = array("f")
    v.frombytes(data[8 + n + lo:8 + n + hi])
    if sys.byteorder != "little":
        v.byteswap()
    return v


def time_case(case, vlpuda, a):
    """Runs case a.rounds times in each engine, alternating them and which
    goes first, and returns the (ORT, vlpuda) results of each round."""
    tower = case.rsplit("-", 2)[0]
    engines = {
        "ort": ["node", os.path.join(HERE, "bench.mjs"), "--model", os.path.join(a.models, tower + ".onnx"),
                "--case", case, "--threads", str(a.threads), "--reps", str(a.reps)],
        "vlpuda": [vlpuda, "bench", "clip", "-inproc", "-json", "-cases", case,
                   "-threads", str(a.threads), "-reps", str(a.reps)],
    }
    rounds = []
    for r in range(a.rounds):
        got = {}
        for name in (["ort", "vlpuda"] if r % 2 == 0 else ["vlpuda", "ort"]):
            line = output(engines[name]).strip()
            print(line, flush=True)
            got[name] = json.loads(line)
        rounds.append((got["ort"], got["vlpuda"]))
    return case, rounds


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def vlpuda_isa(vlpuda):
    for line in output([vlpuda, "version"]).splitlines():
        if line.startswith("kernels"):
            return line.split()[1]
    return "unknown"


def print_table(rows):
    """Prints the Markdown table of the (case, rounds) pairs of time_case.

    The percentages of peak count the tower's nominal work (vlpuda's
    "gflops" over its "images_per_sec": two operations per multiply-add of
    the products PyTorch's definition computes) against the FMA peak that
    vlpuda measured in its run of the same round, for both engines."""
    med = statistics.median
    print("| case | rounds | ORT img/s median (range) | vlpuda img/s median (range) "
          "| vlpuda/ORT median (range) | GFLOP/image | % of peak ORT | vlpuda | peak RSS MiB ORT | vlpuda |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case, rounds in rows:
        ort = [o["images_per_sec"] for o, _ in rounds]
        vlp = [v["images_per_sec"] for _, v in rounds]
        ratio = [v / o for o, v in zip(ort, vlp)]
        measured = [(o, v) for o, v in rounds if v.get("peak_gflops", 0) > 0]
        gflop, pct_ort, pct_vlp = "–", "–", "–"
        if measured:
            per_image = measured[0][1]["gflops"] / measured[0][1]["images_per_sec"]
            gflop = "%.1f" % per_image
            pct_ort = "%.0f %%" % med(100 * o["images_per_sec"] * per_image / v["peak_gflops"] for o, v in measured)
            pct_vlp = "%.0f %%" % med(v["peak_percent"] for _, v in measured)
        print("| %s | %d | %.2f (%.2f–%.2f) | %.2f (%.2f–%.2f) | %.2f× (%.2f–%.2f) | %s | %s | %s | %.0f | %.0f |" % (
            case, len(rounds), med(ort), min(ort), max(ort), med(vlp), min(vlp), max(vlp),
            med(ratio), min(ratio), max(ratio), gflop, pct_ort, pct_vlp,
            max(o["peak_rss_mib"] for o, _ in rounds), max(v["peak_rss_mib"] for _, v in rounds)))


if __name__ == "__main__":
    main()
