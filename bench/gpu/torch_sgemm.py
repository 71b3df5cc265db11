"""Time torch.matmul at 4096x4096x4096 in float32 with TF32 off and on,
as TestGPUSgemm4096Speed times cuBLAS through kernels/cuda (check.sh runs
both). Prints milliseconds per product and TFLOP/s."""
import time

import torch

N, REPS = 4096, 20


def run(tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    g = torch.Generator(device="cuda").manual_seed(1)
    a = torch.rand(N, N, device="cuda", generator=g) * 2 - 1
    b = torch.rand(N, N, device="cuda", generator=g) * 2 - 1
    for _ in range(3):
        torch.matmul(a, b)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(REPS):
        torch.matmul(a, b)
    torch.cuda.synchronize()
    el = time.perf_counter() - start
    print(f"torch {torch.__version__} matmul 4096³ (TF32 {tf32}): "
          f"{el * 1e3 / REPS:.2f} ms per product, {2 * N**3 * REPS / el / 1e12:.1f} TFLOP/s")


print(f"device: {torch.cuda.get_device_name(0)}")
run(False)
run(True)
