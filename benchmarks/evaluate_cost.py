"""What `aekit evaluate` costs, and how much of it is the importance-sampled NLL
(docs/evaluation.md's "Cost" section).

    AEKIT_DATA_DIR=../shared/data python benchmarks/evaluate_cost.py            # 3 rounds, ~3 minutes
    AEKIT_DATA_DIR=../shared/data python benchmarks/evaluate_cost.py --rounds 5

Trains a `vae-kingma` for one epoch on binarized MNIST, then times, in
interleaved rounds on the same 1,000 test images (evenly spread through the
split, as `limit` picks them): `aekit.evaluate` with the NLL at k = 500 and
without probes; the same without the NLL (`nll_samples=0`); and one direct
call of `importance_sampled_nll` at the same k. Prints medians over rounds,
the date, the machine and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import aekit

aekit.tune_cpu()   # as the aekit command does, before torch loads

import torch  # noqa: E402

from aekit.evaluation.data import spread  # noqa: E402
from aekit.metrics.nll import importance_sampled_nll  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_name  # noqa: E402

IMAGES, K = 1000, 500


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {cpu_name()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        run = aekit.train("vae-kingma", data="binarized-mnist", epochs=1, seed=0, out=Path(tmp) / "vae")
        images = spread(run.dataset.test, IMAGES).images   # the images evaluate's `limit` picks
        model = run.model.eval()
        sides = {
            f"aekit.evaluate, NLL k = {K}, no probes": lambda: aekit.evaluate(
                run.dir, limit=IMAGES, nll_samples=K, probes=False, write=False),
            "aekit.evaluate, no NLL, no probes": lambda: aekit.evaluate(
                run.dir, limit=IMAGES, nll_samples=0, probes=False, write=False),
            f"importance_sampled_nll alone, k = {K}": lambda: importance_sampled_nll(model, images, k=K),
        }
        seconds: dict[str, list[float]] = {name: [] for name in sides}
        for r in range(args.rounds):
            for name, call in sides.items():
                seconds[name].append(timed(call))
            print(f"round {r + 1}: " + ", ".join(f"{v[-1]:.1f} s" for v in seconds.values()), flush=True)
    print(f"{IMAGES} binarized-mnist test images, vae-kingma after 1 epoch; median over {args.rounds} rounds:")
    for name, values in seconds.items():
        print(f"  {name:45s} {statistics.median(values):6.1f} s  (min {min(values):.1f}, max {max(values):.1f})")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
