"""`aekit train` as a user runs it, against the tutorial loop as a script
of its own: whole processes, timed from outside.

    python benchmarks/cli_speed.py            # 1 and 5 epochs, 5 interleaved rounds
    python benchmarks/cli_speed.py --quick    # 12k-image subsets, 1 and 3 epochs, 1 round

aekit's side is the command line, `python -m aekit train --preset P --data D
--batch-size B --epochs E` (the `aekit` command's own entry point), with all
a normal run does: per-epoch validation, image grid, metrics.jsonl, model and
best files, checkpoint, loss plot. The other side is `hand_loop.py` run as a
script: the tutorial loop (torch's kernels and default Adam, advanced
indexing), with nothing tuned, as a plain PyTorch script has it (the aekit
command calls `aekit.tune_cpu()`, the script does not; both children start
from the environment this script was given). Each side runs 1 epoch and 5
epochs; the difference over 4 is one steady epoch's cost, with process
start-up, imports, data loading, the first checkpoint and the final plot
cancelled. The figure: hand-loop seconds per epoch / aekit seconds per
epoch (> 1: aekit faster), round by round, then the median. Per-epoch img/s
of the 5-epoch runs (aekit's from metrics.jsonl's samples_per_s) show
whether late epochs keep their speed: denormal floats slowed epochs 3-5 on
Intel Xeons, so vae-kingma runs with train.flush_denormal true and false.
"""

from __future__ import annotations

import os

# Before anything is imported: what a library writes into os.environ as it
# loads (torch._dynamo does) must not reach the children.
CLEAN_ENV = dict(os.environ)

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aekit.models.presets import get_preset
from compute import openmp_settings
from epochs import first_vs_late
from quick import subset

HERE = Path(__file__).resolve().parent
# (preset, data set, batch size or None for the preset's, with flush on/off variants)
CASES = [("vae-kingma", "binarized-mnist", 100, True), ("fashion-ae", "fashion-mnist", None, False)]


def sides(preset: str, data: str, batch: int, flush_variants: bool) -> dict:
    """name -> function(epochs, folder) giving the command line."""
    hand = lambda epochs, out: [sys.executable, str(HERE / "hand_loop.py"), preset, data, str(batch), str(epochs)]

    def aekit(sets):
        return lambda epochs, out: [sys.executable, "-m", "aekit", "train", "--preset", preset, "--data", data,
                                    "--batch-size", str(batch), "--epochs", str(epochs), "--seed", "0",
                                    "--out", str(out)] + [a for s in sets for a in ("--set", s)]
    out = {"tutorial loop": hand}
    if flush_variants:
        out["aekit, flush on"] = aekit(["train.flush_denormal=true"])
        out["aekit, flush off"] = aekit(["train.flush_denormal=false"])
    else:
        out["aekit"] = aekit([])
    return out


def run(name: str, cmd: list[str], out: Path) -> tuple[float, float, list[float], int | None]:
    """(wall s, CPU s of the child, per-epoch img/s, training images per epoch)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=CLEAN_ENV, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise SystemExit(f"cli_speed: {name} failed (exit {done.returncode}): {last}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if name == "tutorial loop":
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return wall, cpu, found["epoch_img_s"], found["images"]
    with open(out / "metrics.jsonl") as f:
        return wall, cpu, [json.loads(line)["samples_per_s"] for line in f], None


def measure(preset, data, batch, flush_variants, short, long, rounds) -> None:
    commands = sides(preset, data, batch, flush_variants)
    times = {(s, e): [] for s in commands for e in (short, long)}
    cpus = {key: [] for key in times}
    rates = {s: [] for s in commands}   # per-epoch img/s of the long runs
    images = None
    for r in range(rounds):
        jobs = list(times)
        for side, epochs in jobs[r % len(jobs):] + jobs[:r % len(jobs)]:   # rotate who goes first
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "run"
                wall, cpu, epoch_rates, n = run(side, commands[side](epochs, out), out)
            times[side, epochs].append(wall)
            cpus[side, epochs].append(cpu)
            images = n or images
            if epochs == long:
                rates[side].append(epoch_rates)
        print(f"  {preset} round {r + 1}: " + ", ".join(f"{s} {e} epoch(s) {times[s, e][-1]:.1f} s"
                                                        for s, e in times), flush=True)
    per_epoch = {s: [(b - a) / (long - short) for a, b in zip(times[s, short], times[s, long])] for s in commands}
    cpu_epoch = {s: [(b - a) / (long - short) for a, b in zip(cpus[s, short], cpus[s, long])] for s in commands}
    print(f"\n{preset}, batch {batch}, {os.path.basename(data)}: {images:,} training images per epoch; "
          f"one epoch = ({long}-epoch run - {short}-epoch run) / {long - short}, medians of {rounds} round(s)")
    print(f"  {'':18s} {f'{short} epoch(s)':>11s} {f'{long} epochs':>9s} {'s/epoch':>8s} {'img/s':>8s} "
          f"{'CPU s/epoch':>12s}  per-epoch img/s of the {long}-epoch runs (training steps)")
    med = statistics.median
    for s in commands:
        epochwise = [med(r[k] for r in rates[s]) for k in range(long)]
        print(f"  {s:18s} {med(times[s, short]):10.1f}s {med(times[s, long]):8.1f}s {med(per_epoch[s]):8.2f} "
              f"{images / med(per_epoch[s]):8,.0f} {med(cpu_epoch[s]):12.2f}  "
              + " ".join(f"{x:,.0f}" for x in epochwise) + f"; {first_vs_late(epochwise)}")
    if any(x <= 0 for s in commands for x in per_epoch[s]):
        print(f"  (a {long}-epoch run took no longer than a {short}-epoch one: the machine's noise exceeds "
              f"an epoch's cost here; give more rounds or --epochs, on a quieter machine)")
    hand = per_epoch["tutorial loop"]
    for s in commands:
        if s != "tutorial loop":
            ratios = [h / a for h, a in zip(hand, per_epoch[s])]
            cpu_ratios = [h / a for h, a in zip(cpu_epoch["tutorial loop"], cpu_epoch[s])]
            print(f"  tutorial loop s/epoch / {s} s/epoch: {med(ratios):.2f} (min {min(ratios):.2f}, "
                  f"max {max(ratios):.2f}); CPU seconds: {med(cpu_ratios):.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="12k-image subsets, 1 and 3 epochs, 1 round")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=5, help="the long run's epochs (the short run has 1)")
    ap.add_argument("--only", nargs="*", help="preset names to run (default: all)")
    args = ap.parse_args()
    if args.epochs < 2:
        ap.error("--epochs: at least 2 (one epoch's cost is the long run's time less the 1-epoch run's)")
    long, rounds = (3, 1) if args.quick else (args.epochs, args.rounds)
    print(f"{sys.executable}; OpenMP settings in both sides' environment: {openmp_settings(CLEAN_ENV)} "
          f"(aekit's CLI may choose its own)")
    with tempfile.TemporaryDirectory() as folder:
        for preset, data, batch, flush_variants in CASES:
            if args.only and preset not in args.only:
                continue
            if args.quick:
                data = subset(data, 12_000, folder)
            measure(preset, data, batch or get_preset(preset)["train"]["batch_size"], flush_variants, 1, long, rounds)


if __name__ == "__main__":
    main()
