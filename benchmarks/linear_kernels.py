"""Which kernel should fully connected layers use on this CPU: torch's own
(fp32: MKL's sgemm; bf16: torch's oneDNN-backed matmul) or oneDNN's linear
(aekit's custom op, aekit/nn/linear.py)? Times the three matmuls of a layer's
training step (forward, input gradient, weight gradient) at the shapes of
the MLP presets, and a 2048^2 square, in fp32 and bf16, each kernel on the
same tensors, rounds interleaved; prints GFLOP/s and oneDNN / torch.

    python benchmarks/linear_kernels.py           # ~1 min
    python benchmarks/linear_kernels.py --rounds 5

`AEKIT_CPU_LINEAR=auto` follows these figures (aekit/nn/linear.py's
choose_kernel): the script ends by printing what auto chooses here.
"""

from __future__ import annotations

import argparse
import statistics
import time

import aekit

WAITS = aekit.tune_cpu()   # before torch loads, as the aekit command does

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from aekit.cpu import cpu_name  # noqa: E402
from aekit.nn.linear import _machine_kernel, cpu_vendor, onednn_linear  # noqa: E402

# (name, batch, in_features, out_features): the wide layers of vae-kingma
# (batch 128) and fashion-ae (batch 512), and a square for the peak.
SHAPES = [
    ("vae-kingma 784->400", 128, 784, 400),
    ("vae-kingma 400->784", 128, 400, 784),
    ("fashion-ae 784->256", 512, 784, 256),
    ("fashion-ae 256->784", 512, 256, 784),
    ("square 2048", 2048, 2048, 2048),
]


def step_matmuls(kernel: str, x, w, g):
    """Forward y = x W^T, input gradient g W, weight gradient g^T x."""
    if kernel == "onednn":
        return onednn_linear(x, w), onednn_linear(g, w.t()), onednn_linear(g.t(), x.t())
    return F.linear(x, w), g @ w, g.t() @ x


def gflops(kernel, x, w, g, seconds: float = 0.3) -> float:
    flops = 3 * 2 * x.shape[0] * x.shape[1] * w.shape[0]
    step_matmuls(kernel, x, w, g)   # warm-up
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        step_matmuls(kernel, x, w, g)
        n += 1
    return flops * n / elapsed / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')}, {cpu_name()} ({cpu_vendor()}), {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, OpenMP waits {WAITS}; medians of {args.rounds} interleaved rounds, GFLOP/s of the three "
          f"matmuls of a layer's training step")
    print(f"{'shape':<22} {'dtype':<5} {'torch':>8} {'oneDNN':>8} {'oneDNN/torch':>13}")
    for name, batch, fin, fout in SHAPES:
        for dtype in (torch.float32, torch.bfloat16):
            x, w, g = (torch.randn(*s).to(dtype) for s in ((batch, fin), (fout, fin), (batch, fout)))
            rates = {"torch": [], "onednn": []}
            for _ in range(args.rounds):
                for kernel in rates:
                    rates[kernel].append(gflops(kernel, x, w, g))
            t, o = (statistics.median(rates[k]) for k in ("torch", "onednn"))
            print(f"{name:<22} {str(dtype)[6:]:<5} {t:8.0f} {o:8.0f} {o / t:13.2f}")
    print(f"AEKIT_CPU_LINEAR=auto chooses '{_machine_kernel('auto')}' for fp32 here "
          "(bf16 autocast always keeps torch's kernels, which call oneDNN already)")


if __name__ == "__main__":
    main()
