"""Work done and what the machine can do: FLOPs of one training step, and a
matrix-multiply peak measured in the same process."""

from __future__ import annotations

import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from aekit.api import build_model
from aekit.data import load_dataset
from aekit.train.config import resolve_config


def train_flops_per_image(preset: str, data: str, batch: int = 64) -> float:
    """Forward + backward FLOPs per image (2 per multiply-add, matmuls and
    convolutions as torch's FlopCounterMode counts them; elementwise ops are
    not counted, so this is the work a matmul peak can be compared with)."""
    cfg = resolve_config(preset, overrides={"data.name": data})
    ds = load_dataset(data)
    model = build_model(cfg, ds.image_shape)
    x = model.preprocess(ds.train.images[:batch])
    with FlopCounterMode(display=False) as counter:
        model.loss(x).total.backward()
    return counter.get_total_flops() / batch


def matmul_peak_gflops(n: int = 2048, reps: int = 5, dtype: torch.dtype = torch.float32) -> float:
    """n x n matmul GFLOP/s in `dtype` with the current thread count (best of
    `reps`: a peak is what the machine reaches, not its average under others'
    load). bf16 matmuls run on AVX512-BF16 / AMX where the CPU has them."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b   # warm-up: thread pool and MKL's buffers
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9
