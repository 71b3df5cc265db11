"""Time torch.load of a checkpoint the way a user loads one, for
bench/load/load_bench.sh: prints the wall and CPU seconds of torch.load and
the process's peak RSS in MiB, then the same for torch.load followed by
.float() on every tensor, which gives float32 weights as vlpuda's loader
does (torch.load alone keeps an fp16 file's half precision).

    python3 bench/load/torch_load.py CHECKPOINT.pt
"""
import resource
import sys
import time

import torch


def main():
    path = sys.argv[1]
    torch.set_num_threads(2)
    t0, c0 = time.perf_counter(), time.process_time()
    sd = torch.load(path, map_location="cpu")
    n = sum(t.numel() for t in sd.values())
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch.load {path}: {len(sd)} tensors, {n} values, {dt:.2f} s, {dc:.2f} s CPU, peak RSS {rss:.0f} MiB")
    # Each tensor is replaced by its float32 copy as it is made, as
    # model.float() does, so the half-precision ones can be freed.
    for k in list(sd):
        sd[k] = sd[k].float()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch.load+float {path}: {len(sd)} tensors, {n} values, {dt:.2f} s, {dc:.2f} s CPU, peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
