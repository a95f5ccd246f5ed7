"""aekit's trainer vs a minimal hand-written PyTorch loop, same model, same
data, in one process, rounds interleaved so machine noise hits both alike.

    python benchmarks/trainer_speed.py [--data digits-sample] [--epochs 2] [--rounds 3]

aekit runs as a normal run: per-epoch validation, metrics.jsonl, model files
and checkpoints in a temporary run folder. Prints samples/s and the ratio
(aekit / hand loop; > 1 means aekit is faster).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from aekit.api import build_model, seed_everything, train
from aekit.data import load_dataset
from aekit.train.config import resolve_config

CASES = [("vae-kingma", 128), ("fashion-ae", 512), ("conv-ae-10", 128)]


def hand_loop(preset: str, batch: int, data: str, epochs: int) -> float:
    start = time.perf_counter()   # wall time including set-up, as for aekit
    cfg = resolve_config(preset, overrides={"data.name": data, "train.batch_size": batch})
    ds = load_dataset(data)
    seed_everything(0)
    model = build_model(cfg, ds.image_shape)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.train.lr)
    images = ds.train.images
    n = len(images)
    for _ in range(epochs):
        for idx in torch.randperm(n).split(batch):
            loss = model.loss(model.preprocess(images[idx])).total
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return n * epochs / (time.perf_counter() - start)


def aekit_run(preset: str, batch: int, data: str, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()   # whole run: validation, metrics, model files, checkpoints
        run = train(preset, data=data, epochs=epochs, batch_size=batch, seed=0, out=f"{tmp}/run")
        seconds = time.perf_counter() - start
    return len(run.dataset.train) * len(run.history) / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="digits-sample")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data {args.data}")
    for preset, batch in CASES:
        ours, hand = [], []
        for _ in range(args.rounds):
            ours.append(aekit_run(preset, batch, args.data, args.epochs))
            hand.append(hand_loop(preset, batch, args.data, args.epochs))
        a, h = statistics.median(ours), statistics.median(hand)
        print(f"{preset:12s} batch {batch:4d}  aekit {a:10,.0f} img/s  hand loop {h:10,.0f} img/s  ratio {a / h:.2f}")


if __name__ == "__main__":
    main()
