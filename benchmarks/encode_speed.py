"""`aekit encode`'s path against the trainer's forward pass: images/s and their ratio.

The apps path is what `aekit encode` runs on images in memory: `Model.encode`
of the `pretrained:fashion-ae` model (aekit.load) on the 70,000 MNIST images
(train + test) given as one uint8 numpy array [N, 1, 28, 28]: input checks,
batching (Model.batch_size images at a time), the codes gathered and handed
back as float32 numpy. The reference is the forward pass the trainer runs for
the encoder: `ae.encode(ae.preprocess(x))` on the same uint8 batches (same
batch size, slices of one tensor), under inference mode, codes concatenated.
So it is like for like: the same model, images, batches and kernels; the
apps path's extra work is exactly what it adds (checks, numpy in and out).

The two run in interleaved rounds, who goes first alternating, so that other
processes' load hits both alike; printed: images/s per side per round, their
medians and the median of the per-round ratios (apps / reference; target >=
0.8), on wall time and on this process's CPU time (user + system: on a
machine that other processes load, the work each side did, less the waiting).

    AEKIT_DATA_DIR=../shared/data PYTHONPATH=src python benchmarks/encode_speed.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

import aekit

WAITS = aekit.tune_cpu()   # before torch loads, as the aekit command does

import numpy as np  # noqa: E402
import torch  # noqa: E402

from aekit.cpu import flushing_denormals  # noqa: E402
from aekit.data import load_dataset  # noqa: E402
from machine import cpu_name  # noqa: E402

MODEL = "pretrained:fashion-ae"


def mnist_70k() -> torch.Tensor:
    d = load_dataset("mnist")
    return torch.cat([d.train.images, d.val.images, d.test.images]).contiguous()


def apps_encode(model, images: np.ndarray) -> np.ndarray:
    return model.encode(images)


@torch.inference_mode()
@flushing_denormals()
def forward_encode(ae, images: torch.Tensor, batch: int) -> torch.Tensor:
    with ae.evaluating():
        return torch.cat([ae.encode(ae.preprocess(images[i:i + batch])) for i in range(0, len(images), batch)])


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    model = aekit.load(MODEL)
    images = mnist_70k()
    array = images.numpy()
    n = len(images)
    print(f"{MODEL} encoding {n} MNIST images, batch {model.batch_size}; {cpu_name()}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, OpenMP waits {WAITS}")
    ref = forward_encode(model.autoencoder, images, model.batch_size)     # warm-up, and the codes to match
    codes = apps_encode(model, array)
    assert np.array_equal(codes, ref.numpy()), "the apps path's codes differ from the forward pass's"
    rates = {(side, clock): [] for side in ("apps", "forward") for clock in ("wall", "cpu")}
    ratios = {"wall": [], "cpu": []}
    for r in range(args.rounds):
        order = ("apps", "forward") if r % 2 == 0 else ("forward", "apps")
        got = {}
        for side in order:
            if side == "apps":
                seconds = timed(lambda: apps_encode(model, array))
            else:
                seconds = timed(lambda: forward_encode(model.autoencoder, images, model.batch_size))
            for clock, s in zip(("wall", "cpu"), seconds):
                got[side, clock] = n / s
                rates[side, clock].append(n / s)
        for clock in ratios:
            ratios[clock].append(got["apps", clock] / got["forward", clock])
        print(f"round {r + 1}: apps {got['apps', 'wall']:,.0f} img/s, forward pass {got['forward', 'wall']:,.0f} "
              f"img/s, ratio {ratios['wall'][-1]:.3f}; per CPU second: apps {got['apps', 'cpu']:,.0f}, forward "
              f"{got['forward', 'cpu']:,.0f}, ratio {ratios['cpu'][-1]:.3f}", flush=True)
    for clock, what in (("wall", "img/s"), ("cpu", "img per CPU second")):
        print(f"median ({clock} time): apps (aekit encode's Model.encode) "
              f"{statistics.median(rates['apps', clock]):,.0f} {what}, trainer's encoder forward "
              f"{statistics.median(rates['forward', clock]):,.0f} {what}, ratio "
              f"{statistics.median(ratios[clock]):.3f} (target >= 0.8), over {args.rounds} interleaved rounds")


if __name__ == "__main__":
    main()
