#!/usr/bin/python3
"""Time CLIP image towers in PyTorch on the cases `vlpuda bench clip` runs.

The towers are written out here from the architecture facts in
shared/method/clip-architecture.md (pre-LN ViT with QuickGELU and packed
attention; ModifiedResNet with a 3-conv stem, anti-aliased bottlenecks and
an attention pool), random weights, float32, so both engines run the same
FLOPs. Each case runs in its own process, like vlpuda's, so that the peak
resident memory belongs to it. Output: one JSON object per line with the
same fields as `vlpuda bench clip -json`.

Usage: /usr/bin/python3 bench/pytorch/clip_bench.py [--threads 2] [--reps 3] [--cases vit-b16-fwd-8,...]
           [--vlpuda ./vlpuda [--rounds 5]]
With --vlpuda, each case also runs in that vlpuda binary, alternating with
PyTorch case by case (and --rounds times per case), and a table with the
median ratio and its range is printed after the JSON.
Needs Debian's python3-torch (apt-get install python3-torch).
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

CASES = ["vit-b32-fwd-1", "vit-b32-fwd-8", "vit-b16-fwd-1", "vit-b16-fwd-8",
         "rn50-fwd-1", "rn50-fwd-8", "vit-b16-train-8"]
MODELS = {"vit-b32": "ViT-B/32", "vit-b16": "ViT-B/16", "rn50": "RN50"}


def build(model):
    import torch
    from torch import nn

    class QuickGELU(nn.Module):
        def forward(self, x):
            return x * torch.sigmoid(1.702 * x)

    class Block(nn.Module):
        def __init__(self, d, heads):
            super().__init__()
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), QuickGELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class ViT(nn.Module):
        def __init__(self, res, patch, width, layers, embed):
            super().__init__()
            grid = res // patch
            self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
            self.cls = nn.Parameter(torch.randn(width) * width ** -0.5)
            self.pos = nn.Parameter(torch.randn(grid * grid + 1, width) * width ** -0.5)
            self.ln_pre, self.ln_post = nn.LayerNorm(width), nn.LayerNorm(width)
            self.blocks = nn.Sequential(*[Block(width, width // 64) for _ in range(layers)])
            self.proj = nn.Parameter(torch.randn(width, embed) * width ** -0.5)

        def forward(self, x):
            x = self.conv1(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], 1) + self.pos
            x = self.blocks(self.ln_pre(x))
            return self.ln_post(x[:, 0]) @ self.proj

    class Bottleneck(nn.Module):
        def __init__(self, inp, planes, stride):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(inp, planes, 1, bias=False), nn.BatchNorm2d(planes)
            self.conv2, self.bn2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False), nn.BatchNorm2d(planes)
            self.pool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
            self.conv3, self.bn3 = nn.Conv2d(planes, 4 * planes, 1, bias=False), nn.BatchNorm2d(4 * planes)
            self.down = None
            if stride > 1 or inp != 4 * planes:
                self.down = nn.Sequential(nn.AvgPool2d(stride) if stride > 1 else nn.Identity(),
                                          nn.Conv2d(inp, 4 * planes, 1, bias=False), nn.BatchNorm2d(4 * planes))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = torch.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(self.pool(out)))
            return torch.relu(out + (x if self.down is None else self.down(x)))

    class AttnPool(nn.Module):
        def __init__(self, spatial, d, heads, out):
            super().__init__()
            self.pos = nn.Parameter(torch.randn(spatial * spatial + 1, d) / d ** 0.5)
            self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
            self.c_proj = nn.Linear(d, out)

        def forward(self, x):
            x = x.flatten(2).transpose(1, 2)
            x = torch.cat([x.mean(1, keepdim=True), x], 1) + self.pos
            return self.c_proj(self.attn(x[:, :1], x, x, need_weights=False)[0][:, 0])

    class ResNet(nn.Module):
        def __init__(self, layers, width, res, embed):
            super().__init__()
            w = width
            self.stem = nn.Sequential(
                nn.Conv2d(3, w // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(w // 2), nn.ReLU(),
                nn.Conv2d(w // 2, w // 2, 3, 1, 1, bias=False), nn.BatchNorm2d(w // 2), nn.ReLU(),
                nn.Conv2d(w // 2, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.AvgPool2d(2))
            blocks, inp = [], w
            for s, n in enumerate(layers):
                for b in range(n):
                    blocks.append(Bottleneck(inp, w << s, 2 if s > 0 and b == 0 else 1))
                    inp = 4 * (w << s)
            self.layers = nn.Sequential(*blocks)
            self.attnpool = AttnPool(res // 32, 32 * w, 32 * w // 64, embed)

        def forward(self, x):
            return self.attnpool(self.layers(self.stem(x)))

    if model == "vit-b32":
        return ViT(224, 32, 768, 12, 512)
    if model == "vit-b16":
        return ViT(224, 16, 768, 12, 512)
    return ResNet([3, 4, 6, 3], 64, 224, 1024)


def run_case(name, threads, reps):
    import torch
    torch.manual_seed(1)
    torch.set_num_threads(threads)
    # Subnormal floats stall PyTorch's CPU kernels: without this the ViT-B/16
    # training step took 167 s a batch on a Zen 5-class EPYC instead of 8 s.
    # The peer should be PyTorch at its fastest; vlpuda keeps subnormals.
    torch.set_flush_denormal(True)
    model, kind, batch = name.rsplit("-", 2)
    batch = int(batch)
    net = build(model)
    images = torch.randn(batch, 3, 224, 224)
    if kind == "train":
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=1e-6, momentum=0.9, nesterov=True, weight_decay=5e-4)
        labels = torch.arange(batch) % 512
        lossf = torch.nn.CrossEntropyLoss(label_smoothing=0.1)

        def step():
            loss = lossf(net(images), labels)
            loss.backward()
            opt.step()
            opt.zero_grad()
    else:
        net.eval()

        def step():
            with torch.no_grad():
                net(images)
    step()
    best = float("inf")
    for _ in range(max(reps, 1)):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": name, "model": MODELS[model], "batch": batch, "train": kind == "train",
            "threads": threads, "images_per_sec": batch / best, "sec_per_batch": best,
            "peak_rss_mib": rss, "engine": "pytorch " + torch.__version__}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--vlpuda", help="also run the cases with this vlpuda binary and print ratios")
    p.add_argument("--rounds", type=int, default=1,
                   help="with --vlpuda, run each case this many times, alternating the engines, "
                        "and print the median ratio and its range (the machine's speed drifts)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    cases = a.cases.split(",")
    if a.child:
        print(json.dumps(run_case(cases[0], a.threads, a.reps)), flush=True)
        return
    rows = []
    for c in cases:
        rounds = []
        for _ in range(max(a.rounds, 1) if a.vlpuda else 1):
            out = subprocess.run([sys.executable, __file__, "--child", "--cases", c,
                                  "--threads", str(a.threads), "--reps", str(a.reps)],
                                 check=True, capture_output=True, text=True).stdout
            print(out.strip(), flush=True)
            torch_r = json.loads(out)
            if not a.vlpuda:
                continue
            out = subprocess.run([a.vlpuda, "bench", "clip", "-inproc", "-json", "-cases", c,
                                  "-threads", str(a.threads), "-reps", str(a.reps)],
                                 check=True, capture_output=True, text=True).stdout
            print(out.strip(), flush=True)
            rounds.append((torch_r, json.loads(out)))
        if rounds:
            rows.append(rounds)
    if rows:
        median = statistics.median
        # The percentages of peak count the tower's nominal work (vlpuda's
        # "gflops" over its "images_per_sec") against the FMA peak vlpuda
        # measured in its run of the same round, for both engines.
        print("\n%-16s %8s %6s %10s %10s %7s %13s %11s %8s %7s %10s %10s" % (
            "case", "threads", "rounds", "torch im/s", "vlpuda", "ratio", "ratio range",
            "GFLOP/image", "torch %", "vlpuda", "torch MiB", "vlpuda"))
        for rounds in rows:
            t0 = rounds[0][0]
            ratios = [v["images_per_sec"] / t["images_per_sec"] for t, v in rounds]
            measured = [(t, v) for t, v in rounds if v.get("peak_gflops", 0) > 0]
            gflop, pct_torch, pct_vlp = "-", "-", "-"
            if measured:
                per_image = measured[0][1]["gflops"] / measured[0][1]["images_per_sec"]
                gflop = "%.1f" % per_image
                pct_torch = "%.0f" % median(100 * t["images_per_sec"] * per_image / v["peak_gflops"] for t, v in measured)
                pct_vlp = "%.0f" % median(v["peak_percent"] for _, v in measured)
            print("%-16s %8d %6d %10.2f %10.2f %6.2fx %6.2f–%.2fx %11s %8s %7s %10.0f %10.0f" % (
                t0["case"], t0["threads"], len(rounds),
                median(t["images_per_sec"] for t, _ in rounds), median(v["images_per_sec"] for _, v in rounds),
                median(ratios), min(ratios), max(ratios), gflop, pct_torch, pct_vlp,
                max(t["peak_rss_mib"] for t, _ in rounds), max(v["peak_rss_mib"] for _, v in rounds)))

if __name__ == "__main__":
    main()
