"""aekit's trainer against two hand-written PyTorch loops (hand_loop.py):
same model, same data, one process, rounds interleaved and rotated so that
other processes' load hits every variant alike.

    python benchmarks/trainer_speed.py            # 5 epochs per run, 3 rounds
    python benchmarks/trainer_speed.py --quick    # 12k-image subsets, 3 epochs, 1 round

The loops: `tutorial` (the loop a user writes: torch's kernels and default
Adam, advanced indexing) and `like-for-like` (the same loop with aekit's
kernels and choices). aekit runs as a normal run: per-epoch validation,
metrics.jsonl, model and best files, image grid, loss.png and a checkpoint,
in a temporary run folder. aekit's variants: `aekit` (the defaults), and for
the MLPs `+compile` (train.compile) and `+bf16` (train.precision bf16: bf16
autocast, which changes the numerics; on a GPU also `+fp16`).

Every run lasts several epochs (5 by default) and is read from its steady
epochs, 2..N; set-up (data, model) and what the first epoch took beyond a
steady one (for +compile: the compile) are printed apart. Ratios are taken
round by round, then the median: aekit / tutorial loop (> 1: aekit faster)
and aekit / like-for-like loop (the trainer's own overhead), on the steady
epochs' wall time (aekit's validation and files included) and on the
training steps alone; and, as before, aekit / tutorial on the whole run's
wall time, set-up and compile included. GFLOP/s count matmul/conv FLOPs of
the training steps alone (compute.py) against the best fp32 matmul peak
measured in the run, whichever kernel reached it (torch's `a @ b`, MKL in
torch's CPU build, or oneDNN's), with each peak also printed on its own.
Peak RSS comes from one child process per model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import aekit

# Before torch loads, as the aekit command does: how OpenMP's idle threads
# wait. Process-wide, so every side here shares it (cli_speed.py measures a
# plain script's untuned process against the aekit command).
WAITS = aekit.tune_cpu()

import torch  # noqa: E402

from aekit.api import train  # noqa: E402
from aekit.nn.linear import cpu_linear_kernel, has_onednn_linear  # noqa: E402
from aekit.training.callbacks import Callback  # noqa: E402
from aekit.training.config import TrainConfig  # noqa: E402
from compute import matmul_peak_gflops, openmp_settings, step_matmuls_gflops, train_flops_per_image  # noqa: E402
from epochs import RunClock, late_over_first  # noqa: E402
from hand_loop import like_for_like_loop, tutorial_loop  # noqa: E402
from quick import subset  # noqa: E402

# (preset, batch, data set, speed variants)
CASES = [
    ("vae-kingma", 128, "binarized-mnist", True),
    ("fashion-ae", 512, "fashion-mnist", True),
    ("conv-ae-10", 128, "mnist", False),   # ~5.5k img/s (2-core AMD EPYC, README, 2026-11-25): ~10 s an epoch
]
# Same optimiser on every side: conv-ae-10's preset has RMSprop, the tutorial loop Adam.
SAME_OPTIMISER = ["train.optimizer=adam"]
LOOPS = {"tutorial": tutorial_loop, "like-for-like": like_for_like_loop}
VARIANTS = {"aekit": [], "+compile": ["train.compile=true"], "+bf16": ["train.precision=bf16"]}
DEVICE = {"name": "cpu"}   # set from --device


class _EpochClock(Callback):
    def __init__(self, clock: RunClock):
        self.clock = clock

    def on_fit_start(self, trainer):
        self.clock.images = len(trainer.train_images)
        self.clock.set_up()

    def on_epoch_end(self, trainer, metrics):   # after the run folder's files (the first callback)
        self.clock.epoch_done(metrics["samples_per_s"])


def aekit_run(preset, batch, data, epochs, sets) -> RunClock:
    clock = RunClock(images=0)        # images: set when the fit starts
    with tempfile.TemporaryDirectory() as tmp:
        train(preset, data=data, epochs=epochs, batch_size=batch, seed=0, out=f"{tmp}/run",
              device=DEVICE["name"], sets=SAME_OPTIMISER + sets, callbacks=[_EpochClock(clock)])
        return clock.finish()


def measure(preset, batch, data, epochs, speed, rounds) -> dict:
    """Runs every variant `rounds` times, interleaved; returns the clocks and
    the matmul peaks measured between the rounds."""
    variants = {loop: None for loop in LOOPS}
    variants.update(list(VARIANTS.items())[:3 if speed else 1])
    if speed and DEVICE["name"].startswith("cuda"):
        variants["+fp16"] = ["train.precision=fp16"]   # with the grad scaler
    onednn = DEVICE["name"] == "cpu" and has_onednn_linear()
    clocks = {v: [] for v in variants}
    peaks = {"fp32 torch a @ b": [], "bf16 torch a @ b": []}
    if onednn:
        peaks["fp32 oneDNN"] = []
    for r in range(rounds):
        peaks["fp32 torch a @ b"].append(matmul_peak_gflops(device=DEVICE["name"]))
        peaks["bf16 torch a @ b"].append(matmul_peak_gflops(dtype=torch.bfloat16, device=DEVICE["name"]))
        if onednn:
            peaks["fp32 oneDNN"].append(matmul_peak_gflops(onednn=True))
        order = list(variants)
        for v in order[r % len(order):] + order[:r % len(order)]:   # rotate who goes first
            if v in LOOPS:
                clock = LOOPS[v](preset, batch, data, epochs, DEVICE["name"], SAME_OPTIMISER)
            else:
                clock = aekit_run(preset, batch, data, epochs, variants[v])
            clocks[v].append(clock)
            print(f"  {preset} round {r + 1} {v:13s} set-up {clock.setup_s:5.1f} s, epochs (training steps) "
                  + " ".join(f"{x:,.0f}" for x in clock.loop_rates) + " img/s", flush=True)
    ceiling = step_matmuls_gflops(preset, data, batch, reps=200 if speed else 20, device=DEVICE["name"])
    return {"clocks": clocks, "peaks": peaks, "ceiling": ceiling}


def _median_ratio(num: list[float], den: list[float]) -> float:
    """Round by round (each round's runs ran side by side), then the median."""
    return statistics.median(a / b for a, b in zip(num, den))


def report(preset, batch, data, epochs, flops, result, yardstick) -> None:
    clocks, peaks = result["clocks"], result["peaks"]
    best = {name: max(values) for name, values in peaks.items()}
    fp32 = [name for name in best if name.startswith("fp32")]
    print(f"\n{preset} (batch {batch}, {epochs} epochs of {clocks['tutorial'][0].images:,} images of "
          f"{os.path.basename(data)}), {flops / 1e6:.1f} MFLOP/image; matmul peaks in its rounds "
          f"(GFLOP/s, best): " + ", ".join(f"{name} {value:.0f}" for name, value in best.items()))

    median = lambda v, f: statistics.median(f(c) for c in clocks[v])
    ratio = lambda v, base, f: statistics.median(f(a) / f(b) for a, b in zip(clocks[v], clocks[base]))
    steady, steps, whole = (lambda c: c.steady_img_s), (lambda c: c.steady_loop_img_s), (lambda c: c.whole_img_s)
    late = lambda c: late_over_first(c.loop_rates)   # epochs 3..N over 1-2: denormals show here
    columns = [("", "variant", 13), ("set-up", "s", 6), ("1st epoch", "extra s", 9), ("steady", "wall img/s", 10),
               ("steady", "steps img/s", 11), ("late /", "1st", 6), ("vs", "tutorial", 8),
               ("whole run vs", "tutorial", 12), ("vs like-", "for-like", 8), ("steps vs", "like-for-like", 13),
               ("steps'", "GFLOP/s", 7), ("% of best", "fp32 peak", 9)] + [("% of", name, len(name)) for name in fp32]
    row = lambda cells: "  " + " ".join(f"{x:<{c[2]}s}" if i == 0 else f"{x:>{c[2]}s}"
                                        for i, (x, c) in enumerate(zip(cells, columns)))
    shares = lambda gf: [f"{gf:.1f}", f"{100 * gf / yardstick:.0f}%"] + [f"{100 * gf / best[n]:.0f}%" for n in fp32]
    print(row([c[0] for c in columns]))
    print(row([c[1] for c in columns]))
    for v in clocks:
        gf = median(v, steps) * flops / 1e9
        cells = [v, f"{median(v, lambda c: c.setup_s):.1f}", f"{median(v, lambda c: c.first_extra_s):.1f}",
                 f"{median(v, steady):,.0f}", f"{median(v, steps):,.0f}", f"{median(v, late):.2f}"]
        cells += ["", ""] if v in LOOPS else [f"{ratio(v, 'tutorial', f):.2f}" for f in (steady, whole)]
        # The like-for-like loop mirrors aekit's defaults; the speed variants have no twin there.
        cells += [f"{ratio(v, 'like-for-like', f):.2f}" for f in (steady, steps)] if v == "aekit" else ["", ""]
        print(row(cells + shares(gf))
              + (f"  ({100 * gf / best['bf16 torch a @ b']:.0f}% of the bf16 peak)" if "bf16" in v else ""))
    print(row(["(ceiling)"] + [""] * 9 + shares(result["ceiling"]))
          + "  the step's own matmuls/convs (aekit's kernels) replayed alone")
    compiles = [c.first_extra_s for c in clocks.get("+compile", [])]
    if compiles:
        print(f"  +compile's compile (its 1st epoch's extra time): {min(compiles):.1f}-{max(compiles):.1f} s "
              f"over the rounds (inductor caches on disk, so later runs may compile faster); "
              f"the eager aekit run's 1st epoch extra: {median('aekit', lambda c: c.first_extra_s):.1f} s")


def peak_rss() -> int:
    """Bytes. VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over
    exec from the parent, so a child would report the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def rss_child(preset, batch, data, device):
    """One normal aekit run (1 epoch); prints its memory figures as JSON
    (on a GPU also the device's peak allocation)."""
    baseline = peak_rss()   # torch + aekit imported
    found = {}

    class Grab(Callback):
        def on_fit_end(self, trainer):
            found["model"] = sum(t.nbytes for t in trainer.model.state_dict().values())
            found["optimiser"] = sum(v.nbytes for s in trainer.optimizer.state.values()
                                     for v in s.values() if torch.is_tensor(v))

    with tempfile.TemporaryDirectory() as tmp:
        run = train(preset, data=data, epochs=1, batch_size=batch, seed=0, out=f"{tmp}/run",
                    device=device, sets=SAME_OPTIMISER, callbacks=[Grab()])
    if device.startswith("cuda"):
        found["gpu_peak"] = torch.cuda.max_memory_allocated()
    ds = run.dataset
    found["data"] = sum(s.images.nbytes for s in (ds.train, ds.val, ds.test) if s is not None)
    found["dtype"] = str(ds.train.images.dtype)
    found["peak"] = peak_rss()
    found["baseline"] = baseline
    print(json.dumps(found))


def memory(cases, quick, folder):
    print("\npeak RSS of one normal run per model (child process, 1 epoch):")
    for preset, batch, data, _ in cases:
        if quick:
            data = subset(data, 12_000, folder)
        out = subprocess.run([sys.executable, __file__, "--rss-child", preset, str(batch), data, DEVICE["name"]],
                             capture_output=True, text=True, check=True).stdout
        m = json.loads(out.strip().splitlines()[-1])
        needed = m["data"] + m["model"] + m["optimiser"]
        mb = 2 ** 20
        print(f"  {preset:12s} peak RSS {m['peak'] / mb:6.0f} MiB (after imports {m['baseline'] / mb:4.0f} MiB); "
              f"data {m['data'] / mb:4.1f} MiB {m['dtype']}, model {m['model'] / mb:4.1f} MiB, "
              f"optimiser {m['optimiser'] / mb:4.1f} MiB: peak / needed {m['peak'] / needed:4.1f}, "
              f"(peak - imports) / needed {(m['peak'] - m['baseline']) / needed:4.1f}"
              + (f"; GPU peak allocated {m['gpu_peak'] / mb:6.0f} MiB" if "gpu_peak" in m else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="12k-image subsets, 3 epochs, 1 round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5, help="epochs per run (>= 3; steady epochs are 2..N)")
    ap.add_argument("--only", nargs="*", help="preset names to run (default: all)")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child runs")
    ap.add_argument("--no-variants", action="store_true",
                    help="only the two loops and aekit's defaults (no +compile, +bf16): the like-for-like check")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda: where both loops train")
    ap.add_argument("--rss-child", nargs=4, metavar=("PRESET", "BATCH", "DATA", "DEVICE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        preset, batch, data, device = args.rss_child
        return rss_child(preset, int(batch), data, device)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error("--device cuda: this machine has no CUDA GPU (or torch is a CPU build)")
    if args.epochs < 3:
        ap.error("--epochs: at least 3 (a run is read from its steady epochs 2..N, late ones from 3..N)")
    DEVICE["name"] = args.device
    cases = [c for c in CASES if not args.only or c[0] in args.only]
    rounds, epochs = (1, 3) if args.quick else (args.rounds, args.epochs)
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
          f"OpenMP waits: {WAITS} ({openmp_settings()}), {rounds} round(s) of {epochs} epochs; aekit's fp32 CPU linear "
          f"layers: {cpu_linear_kernel()} (aekit/nn/linear.py), the tutorial loop's: torch; aekit flushes "
          f"denormals while it trains: {TrainConfig().flush_denormal} (train.flush_denormal), the tutorial loop: no")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for preset, batch, data, speed in cases:
            if args.quick:
                data = subset(data, 12_000, folder)
            flops = train_flops_per_image(preset, data)
            results.append((preset, batch, data, flops,
                            measure(preset, batch, data, epochs, speed and not args.no_variants, rounds)))
        # The yardstick: the best fp32 matmul any kernel reached in this run.
        peaks = [(v, name) for *_, r in results for name, values in r["peaks"].items()
                 if name.startswith("fp32") for v in values]
        yardstick, kernel = max(peaks)
        print(f"\nthe yardstick: the best fp32 matmul peak measured in this run, {yardstick:.0f} GFLOP/s "
              f"({kernel}, 2048x2048); other peaks beside it, labelled. steady: epochs 2-{epochs} (wall: all "
              f"of an epoch, for aekit its validation and files too; steps: the training steps alone); "
              f"late / 1st: steps img/s of epochs 3-{epochs} over epochs 1-2; vs X: aekit's img/s over X's, "
              f"round by round, median (> 1: aekit faster); whole run: set-up and 1st epoch (compile) included")
        for preset, batch, data, flops, result in results:
            report(preset, batch, data, epochs, flops, result, yardstick)
        if not args.no_rss:
            memory(cases, args.quick, folder)


if __name__ == "__main__":
    main()
