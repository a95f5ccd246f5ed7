"""Fixed noise for measurements: draws from a stream of their own.

A figure that samples (a denoiser's corrupted validation images, a VAE's
sampled codes) compares fairly across epochs and runs only if it draws the
same noise each time; and measuring must not move the training run's random
stream, or a run with a validation split (or an ELBO printed midway) would
train different weights from one without, and a resumed run would not
continue bit for bit.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def fixed_rng(seed: int, device: torch.device | str = "cpu") -> Iterator[None]:
    """Inside the block, torch's CPU stream and `device`'s stream start from
    `seed`; after it, both are back where they were. Only these two streams
    are touched: another GPU's stream (another rank's) is left alone."""
    device = torch.device(device)
    on_cpu = device.type == "cpu"
    index = None if on_cpu else torch.empty(0, device=device).device.index   # "cuda" -> the current one
    with torch.random.fork_rng(devices=[] if on_cpu else [index], device_type=None if on_cpu else device.type):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)   # this device's stream only
        elif not on_cpu:   # mps and the like: one device per process
            torch.get_device_module(device.type).manual_seed(seed)
        yield
