"""Time torch.load of a checkpoint the way a user loads one, for
bench/load/load_bench.sh: prints the seconds and the peak RSS in MiB.

    python3 bench/load/torch_load.py CHECKPOINT.pt
"""
import resource
import sys
import time

import torch


def main():
    path = sys.argv[1]
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    sd = torch.load(path, map_location="cpu")
    n = sum(t.numel() for t in sd.values())
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch.load {path}: {len(sd)} tensors, {n} values, {dt:.2f} s, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
