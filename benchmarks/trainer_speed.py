"""aekit's trainer vs a minimal hand-written PyTorch loop (hand_loop.py):
same model, same data, one process, rounds interleaved so that other
processes' load hits every variant alike.

    python benchmarks/trainer_speed.py            # ~54k real images per epoch (several minutes)
    python benchmarks/trainer_speed.py --quick    # 12k-image subsets, 1 epoch, 1 round

aekit runs as a normal run: per-epoch validation, metrics.jsonl, model and
best files, image grid, loss.png and a checkpoint, in a temporary run folder.
Variants: `aekit` (the defaults), and for the MLPs `+compile`
(train.compile) and `+bf16` (train.precision bf16: bf16 autocast, which
changes the numerics; this CPU has AVX512-BF16). All figures are
medians over rounds; ratios are aekit / hand loop (> 1: aekit is faster) on
wall time, set-up and compile included. GFLOP/s count matmul/conv FLOPs of
the training loop alone (compute.py) against fp32 and bf16 matmul peaks
measured between the rounds, and against the step's own matmuls replayed
alone (the ceiling for a whole fp32 step). Peak RSS comes from one child process per model.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import aekit   # before torch: chooses the OpenMP wait policy (see aekit/openmp.py)
import numpy as np
import torch

from aekit.api import train
from aekit.data import load_dataset
from aekit.nn.linear import cpu_linear_kernel, has_onednn_linear
from compute import matmul_peak_gflops, step_matmuls_gflops, train_flops_per_image
from hand_loop import hand_loop

# (preset, batch, data set, epochs per run, speed variants)
CASES = [
    ("vae-kingma", 128, "binarized-mnist", 2, True),
    ("fashion-ae", 512, "fashion-mnist", 2, True),
    ("conv-ae-10", 128, "mnist", 1, False),   # ~1k images/s here: one epoch per run
]
# Same optimiser on both sides: the hand loop uses Adam, conv-ae-10's preset RMSprop.
SAME_OPTIMISER = ["train.optimizer=adam"]
VARIANTS = {"aekit": [], "+compile": ["train.compile=true"], "+bf16": ["train.precision=bf16"]}
DEVICE = {"name": "cpu"}   # set from --device


def aekit_run(preset, batch, data, epochs, sets) -> tuple[float, float]:
    """(images/s over the wall time; images/s of the training loops alone)."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run = train(preset, data=data, epochs=epochs, batch_size=batch, seed=0, out=f"{tmp}/run",
                    device=DEVICE["name"], sets=SAME_OPTIMISER + sets)
        seconds = time.perf_counter() - start
    n = len(run.dataset.train) * len(run.history)
    loop_seconds = sum(len(run.dataset.train) / m["samples_per_s"] for m in run.history)
    return n / seconds, n / loop_seconds


def subset(data: str, n: int, folder: str) -> str:
    """The first n training images of `data` as an .npy file (the --quick data)."""
    path = os.path.join(folder, f"{data}-{n}.npy")
    np.save(path, load_dataset(data).train.images[:n].numpy())
    return path


def measure(cases, rounds, quick, folder):
    onednn = DEVICE["name"] == "cpu" and has_onednn_linear()   # also measure oneDNN's fp32 matmul peak
    for preset, batch, data, epochs, speed in cases:
        if quick:
            data, epochs = subset(data, 12_000, folder), 1
        flops = train_flops_per_image(preset, data)
        variants = dict(list(VARIANTS.items())[:3 if speed else 1])
        if speed and DEVICE["name"].startswith("cuda"):
            variants["+fp16"] = ["train.precision=fp16"]   # with the grad scaler
        wall = {v: [] for v in ["hand"] + list(variants)}
        loop = {v: [] for v in wall}
        peaks, bf16_peaks, onednn_peaks = [], [], []
        for r in range(rounds):
            peaks.append(matmul_peak_gflops(device=DEVICE["name"]))
            bf16_peaks.append(matmul_peak_gflops(dtype=torch.bfloat16, device=DEVICE["name"]))
            if onednn:
                onednn_peaks.append(matmul_peak_gflops(onednn=True))
            order = ["hand"] + list(variants)
            for v in order[r % len(order):] + order[:r % len(order)]:   # rotate who goes first
                w, l = (hand_loop(preset, batch, data, epochs, DEVICE["name"]) if v == "hand"
                        else aekit_run(preset, batch, data, epochs, variants[v]))
                wall[v].append(w)
                loop[v].append(l)
        ceiling = step_matmuls_gflops(preset, data, batch, reps=200 if speed else 20, device=DEVICE["name"])
        peak, bf16_peak = statistics.median(peaks), statistics.median(bf16_peaks)
        onednn_peak = statistics.median(onednn_peaks) if onednn else None
        hand = statistics.median(wall["hand"])
        print(f"\n{preset} (batch {batch}, {epochs} epoch(s) of {os.path.basename(data)}), "
              f"{flops / 1e6:.1f} MFLOP/image, matmul peaks: torch a @ b {peak:.0f} GFLOP/s fp32, "
              f"{bf16_peak:.0f} bf16" + (f"; oneDNN {onednn_peak:.0f} fp32" if onednn else ""))

        def shares(gf, bf16=False):
            out = f"{100 * gf / peak:3.0f}% of torch's fp32 peak"
            if onednn:
                out += f", {100 * gf / onednn_peak:3.0f}% of oneDNN's"
            return out + (f", {100 * gf / bf16_peak:3.0f}% of the bf16 peak" if bf16 else "")
        print(f"  {'(ceiling)':14s} the step's own matmuls/convs (aekit's kernels) replayed alone: "
              f"{ceiling:5.1f} GFLOP/s = {shares(ceiling)}")
        for v in wall:
            w, l = statistics.median(wall[v]), statistics.median(loop[v])
            gf = l * flops / 1e9
            print(f"  {v:14s} {w:9,.0f} img/s wall   ratio {w / hand:5.2f}   "
                  f"loop {l:9,.0f} img/s = {gf:5.1f} GFLOP/s = {shares(gf, 'bf16' in v)}")


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
    from aekit.train.callbacks import Callback

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
    for preset, batch, data, _, _ in cases:
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
    ap.add_argument("--quick", action="store_true", help="12k-image subsets, 1 epoch, 1 round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="preset names to run (default: all)")
    ap.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child runs")
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda: where both loops train")
    ap.add_argument("--rss-child", nargs=4, metavar=("PRESET", "BATCH", "DATA", "DEVICE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss_child:
        preset, batch, data, device = args.rss_child
        return rss_child(preset, int(batch), data, device)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error("--device cuda: this machine has no CUDA GPU (or torch is a CPU build)")
    DEVICE["name"] = args.device
    cases = [c for c in CASES if not args.only or c[0] in args.only]
    rounds = 1 if args.quick else args.rounds
    print(f"torch {torch.__version__}, device {args.device}, {torch.get_num_threads()} threads, "
          f"OpenMP waits: {aekit.OPENMP_WAIT} (aekit/openmp.py), {rounds} round(s); "
          f"aekit's fp32 CPU linear layers: {cpu_linear_kernel()} (aekit/nn/linear.py), the hand loop's: torch")
    with tempfile.TemporaryDirectory() as folder:
        measure(cases, rounds, args.quick, folder)
        if not args.no_rss:
            memory(cases, args.quick, folder)


if __name__ == "__main__":
    main()
