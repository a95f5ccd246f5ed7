"""Work done and what the machine can do: FLOPs of one training step, a
matrix-multiply peak measured in the same process, and the rate of the
step's own matmuls replayed alone (the ceiling for a whole step)."""

from __future__ import annotations

import os
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from aekit.api import build_model
from aekit.data import load_dataset
from aekit.nn.linear import onednn_linear, using_cpu_linear_kernel
from aekit.training.config import resolve_config
from aekit.training.trainer import uses_channels_last


def openmp_settings(env=os.environ) -> str:
    """How OpenMP's idle threads wait, as the environment says (aekit may set
    it before torch loads: aekit/openmp.py)."""
    said = [f"{k}={env[k]}" for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT") if k in env]
    return ", ".join(said) or "libgomp's default"


def sync(device: str) -> None:
    """Wait for the device's queued work (a GPU runs behind the Python loop)."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _one_step_input(preset: str, data: str, batch: int, device: str = "cpu"):
    cfg = resolve_config(preset, overrides={"data.name": data})
    ds = load_dataset(data)
    model = build_model(cfg, ds.image_shape).to(device)
    if uses_channels_last(model, torch.device(device), cfg.train.channels_last):   # as aekit's trainer does
        model = model.to(memory_format=torch.channels_last)
    return model, model.preprocess(ds.train.images[:batch].to(device))


def train_flops_per_image(preset: str, data: str, batch: int = 64) -> float:
    """Forward + backward FLOPs per image (2 per multiply-add, matmuls and
    convolutions as torch's FlopCounterMode counts them; elementwise ops are
    not counted, so this is the work a matmul peak can be compared with)."""
    model, x = _one_step_input(preset, data, batch)
    return _step_flops(model, x) / batch


def _step_flops(model, x) -> int:
    """Counted with torch's own linear kernels: FlopCounterMode has no
    formula for oneDNN's linear (aekit/nn/linear.py), which does the same work."""
    with using_cpu_linear_kernel("torch"), FlopCounterMode(display=False) as counter:
        model.loss(x).total.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


_MATMULS = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default,
            torch.ops.aten.convolution.default, torch.ops.aten.convolution_backward.default,
            torch.ops.aekit.onednn_linear.default}   # aekit's oneDNN linear (aekit/nn/linear.py)


class _RecordMatmuls(TorchDispatchMode):
    """Keeps every matmul / convolution call of a forward + backward, with copies of its inputs."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _MATMULS:
            copy = lambda a: a.detach().clone() if isinstance(a, torch.Tensor) else a
            self.calls.append((func, [copy(a) for a in args], {k: copy(v) for k, v in kwargs.items()}))
        return func(*args, **kwargs)


def step_matmuls_gflops(preset: str, data: str, batch: int, reps: int = 200, device: str = "cpu") -> float:
    """GFLOP/s of one training step's matmuls and convolutions (same shapes,
    same layouts, recorded from a real forward + backward) replayed back to
    back with nothing else: what a step would reach if everything else
    (elementwise ops, optimiser, Python) took no time."""
    model, x = _one_step_input(preset, data, batch, device)
    flops = _step_flops(model, x)
    recorder = _RecordMatmuls()
    with recorder:   # the kernels aekit's trainer uses
        model.loss(x).total.backward()

    def replay():
        for func, args, kwargs in recorder.calls:
            func(*args, **kwargs)
    for _ in range(10):
        replay()
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        replay()
    sync(device)
    return flops * reps / (time.perf_counter() - start) / 1e9


def matmul_peak_gflops(n: int = 2048, reps: int = 5, dtype: torch.dtype = torch.float32,
                       device: str = "cpu", onednn: bool = False) -> float:
    """n x n matmul GFLOP/s in `dtype` with the current thread count (best of
    `reps`: a peak is what the machine reaches, not its average under others'
    load): torch's `a @ b` (fp32 on the CPU: MKL), or with onednn=True
    oneDNN's matmul (the kernel aekit's fp32 CPU linear layers may use,
    aekit/nn/linear.py). bf16 matmuls run on AVX512-BF16 / AMX where the CPU
    has them; on a GPU, fp32 matmuls use TF32 only if torch is told to."""
    if device.startswith("cuda"):
        n, reps = 8192, 20   # a GPU needs a larger problem to reach its peak
    a, b = (torch.randn(n, n, dtype=dtype, device=device) for _ in range(2))
    mm = (lambda: onednn_linear(a, b)) if onednn else (lambda: a @ b)
    mm()   # warm-up: thread pool and MKL's buffers (or the GPU's kernels)
    best = float("inf")
    for _ in range(reps):
        sync(device)
        start = time.perf_counter()
        mm()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9
