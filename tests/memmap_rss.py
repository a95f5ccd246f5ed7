"""Run by test_any_size.py in a fresh process: train dense-ae-32 for one epoch
on the images of a .npy (memory-mapped, or with `load` read into memory; a
third argument true/false/null sets train.bounded_malloc, null by default; a
fourth the epochs, 1 by default) and
print, in MiB, how far the peak resident memory rose above where it stood
before the epoch, then how far the resident memory rose when every page of
the file was then read.

The model is warmed up first by an epoch on 256 in-memory images (two steps of the same batch size), so that the
one-time allocations (oneDNN's kernels, the allocator's pools: ~70 MB on the
first step) are not counted as the epoch's."""

import sys
from pathlib import Path

import numpy as np
import torch

from aekit.api import build_model
from aekit.data.memmap import map_npy
from aekit.data.types import Split
from aekit.training.config import resolve_config
from aekit.training.trainer import Trainer


def mib(key: str) -> int:
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(key))
    return int(line.split()[1]) // 1024


path, how = Path(sys.argv[1]), sys.argv[2]
bounded = {"true": True, "false": False, "null": None}[sys.argv[3] if len(sys.argv) > 3 else "null"]
images = map_npy(path) if how == "map" else torch.from_numpy(np.load(path))
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 1
cfg = resolve_config("dense-ae-32", overrides={"train.epochs": epochs, "train.device": "cpu", "train.grid_every": 0,
                                               "train.batch_size": 128, "train.threads": 1,
                                               "train.bounded_malloc": bounded})
model = build_model(cfg, tuple(images.shape[1:]))
warm = torch.from_numpy(np.load(path, mmap_mode="r")[:256].copy())
cfg.train.epochs = 1
Trainer(model, Split(warm), Split(warm[:0]), cfg.train).fit()
cfg.train.epochs = epochs
trainer = Trainer(model, Split(images), Split(images[:0]), cfg.train)
Path("/proc/self/clear_refs").write_text("5")   # the peak starts again from here
before = mib("VmRSS")
history = trainer.fit()
trained = mib("VmHWM") - before
# Measured from the resident size just before the read, not from `before`: the
# epoch may end below where it started (pages and heap released), which made a
# loaded machine's "touched" read 44 of 58.6 MiB.
resident = mib("VmRSS")
int(images.max())                               # every page of the data read, none released
print(trained, mib("VmRSS") - resident, history[-1]["train_loss"])
