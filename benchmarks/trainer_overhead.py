"""The trainer's own per-step overhead, measured at the epoch level in one
process: aekit's `Trainer._run_epoch` (no validation split, no callbacks)
against the like-for-like hand loop (benchmarks/hand_loop.py's choices: the
same kernels, fused optimiser, index_select gather, epoch order, denormals
flushed), on the same images, epochs interleaved and the order alternated
round by round, so that the host's noise hits both sides alike. Ratio > 1:
aekit faster. Whole runs (trainer_speed.py) add per-epoch work and process
state; this isolates the training loop itself.

    python benchmarks/trainer_overhead.py vae-kingma binarized-mnist 128 --images 25600 --rounds 12
"""

from __future__ import annotations

import argparse
import statistics
import time

import aekit

aekit.tune_cpu()   # as the aekit command does, before torch loads

import torch  # noqa: E402

from aekit.api import build_model, seed_everything  # noqa: E402
from aekit.cpu import flushing_denormals  # noqa: E402
from aekit.data import load_dataset  # noqa: E402
from aekit.data.types import Split  # noqa: E402
from aekit.nn.linear import cpu_linear_kernel, using_cpu_linear_kernel  # noqa: E402
from aekit.training.config import resolve_config  # noqa: E402
from aekit.training.optim import make_optimizer  # noqa: E402
from aekit.training.trainer import Trainer, uses_channels_last  # noqa: E402
from hand_loop import like_for_like_epoch  # noqa: E402
from machine import cpu_name  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("preset")
    ap.add_argument("data")
    ap.add_argument("batch", type=int)
    ap.add_argument("--images", type=int, default=25_600)
    ap.add_argument("--rounds", type=int, default=12)
    args = ap.parse_args()
    cfg = resolve_config(args.preset, overrides={"data.name": args.data, "train.batch_size": args.batch,
                                                 "train.epochs": 10_000})
    ds = load_dataset(args.data, val_fraction=cfg.data.val_fraction, seed=0)
    images = ds.train.images[:args.images].contiguous()
    n, batch = len(images), args.batch
    seed_everything(0)
    trainer = Trainer(build_model(cfg, ds.image_shape), Split(images), Split(images[:0].contiguous()), cfg.train)
    seed_everything(0)
    model = build_model(cfg, ds.image_shape).to(trainer.device)
    if uses_channels_last(model, trainer.device, cfg.train.channels_last):   # as the trainer does
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(cfg.train, model.main_parameters())
    model.train()
    step = [0]

    def hand(epoch: int) -> None:
        step[0] = like_for_like_epoch(model, optimizer, images, batch, cfg.train.seed, epoch, step[0])

    def aekit_epoch(epoch: int) -> None:
        trainer._run_epoch(epoch)
        trainer.state.step_in_epoch = 0
        trainer.tally.clear()

    times = {"aekit": [], "hand": []}
    with using_cpu_linear_kernel(cpu_linear_kernel()), flushing_denormals(cfg.train.flush_denormal):
        hand(1)
        aekit_epoch(1)   # warm-up: first-call costs out of the figures
        for r in range(args.rounds):
            order = [("aekit", aekit_epoch), ("hand", hand)]
            for name, run in order if r % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                run(r + 2)
                times[name].append(time.perf_counter() - start)
    ratios = [h / a for a, h in zip(times["aekit"], times["hand"])]
    print(f"{cpu_name()}; {args.preset} on {n:,} images of {args.data}, batch {batch}, {args.rounds} rounds")
    print(f"aekit's epoch / the like-for-like loop's, speed ratio: median {statistics.median(ratios):.3f} "
          f"(rounds: {' '.join(f'{r:.2f}' for r in ratios)})")
    print(f"img/s median: aekit {n / statistics.median(times['aekit']):,.0f}, "
          f"like-for-like {n / statistics.median(times['hand']):,.0f}")


if __name__ == "__main__":
    main()
