"""Rate and distortion of the .aek codec beside JPEG and WebP (issue #12).

    python benchmarks/compression.py                          # trains fashion-ae briefly on each set
    python benchmarks/compression.py --run mnist=runs/A --run fashion-mnist=runs/B
    python benchmarks/compression.py --n 1000 --epochs 3      # a small run (docs/compression.md)

For each data set (MNIST and Fashion-MNIST test sets, the first `--n`
images): the model's codec at several bit depths (bits per image of the
whole .aek file, header and histograms included; mean per-image PSNR against
the originals), then JPEG and WebP from Pillow at the lowest quality whose
mean PSNR reaches the codec's at that depth ("matched for PSNR"), each image
its own file as one stores single images (JPEG optimize=True, WebP lossy
method 6), and optimised PNG and raw pixels for scale. A model is a run
folder given with --run NAME=RUN, or else `fashion-ae` trained here for
--epochs epochs (its own preset: batch 512, Adam 1e-3, seed 0).
"""

from __future__ import annotations

import argparse
import io
import shlex
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import aekit

aekit.tune_cpu()   # as the aekit command does, before torch loads

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from aekit.apps.codec import compress, decompress, png_bytes, psnr_uint8  # noqa: E402
from aekit.apps.container import unpack  # noqa: E402
from aekit.data import load_dataset  # noqa: E402
from machine import cpu_name  # noqa: E402

DATASETS = ("mnist", "fashion-mnist")


def pil_bytes(pixels: np.ndarray, fmt: str, quality: int) -> tuple[int, np.ndarray]:
    """Each image [N, 1, H, W] saved on its own as `fmt` at `quality`: the bytes summed, and the decoded images."""
    total, decoded = 0, np.empty_like(pixels)
    options = {"JPEG": {"optimize": True}, "WEBP": {"method": 6}}[fmt]
    for i, image in enumerate(pixels):
        buffer = io.BytesIO()
        Image.fromarray(image[0]).save(buffer, format=fmt, quality=quality, **options)
        total += buffer.tell()
        buffer.seek(0)
        decoded[i, 0] = np.asarray(Image.open(buffer).convert("L"))
    return total, decoded


class Matcher:
    """The lowest quality of one format whose mean PSNR reaches a target (bisection; PSNR rises with quality)."""

    def __init__(self, pixels: np.ndarray, fmt: str):
        self.pixels, self.fmt, self.cache = pixels, fmt, {}

    def at(self, quality: int) -> tuple[int, float]:
        if quality not in self.cache:
            nbytes, decoded = pil_bytes(self.pixels, self.fmt, quality)
            self.cache[quality] = (nbytes, psnr_uint8(self.pixels, decoded))
        return self.cache[quality]

    def match(self, target: float) -> tuple[int, int, float] | None:
        """(quality, bytes, PSNR) of the lowest quality reaching `target`; None if 100 does not."""
        if self.at(100)[1] < target:
            return None
        lo, hi = 1, 100
        while lo < hi:
            mid = (lo + hi) // 2
            if self.at(mid)[1] >= target:
                hi = mid
            else:
                lo = mid + 1
        return (lo, *self.at(lo))


def model_for(name: str, runs: dict[str, str], epochs: int, folder: Path) -> tuple[aekit.Model, str]:
    if name in runs:
        return aekit.load(runs[name]), f"run {runs[name]}"
    start = time.perf_counter()
    run = aekit.train("fashion-ae", data=name, epochs=epochs, seed=0, device="cpu", out=folder / name)
    minutes = (time.perf_counter() - start) / 60
    return aekit.load(run.dir), f"fashion-ae trained here: {epochs} epochs, {minutes:.1f} min"


def rows_for(model: aekit.Model, pixels: np.ndarray, bit_depths: list[int]) -> list[str]:
    n = len(pixels)
    per_image = lambda nbytes: nbytes * 8 / n  # noqa: E731  bits per image
    jpeg, webp = Matcher(pixels, "JPEG"), Matcher(pixels, "WEBP")
    lines = []
    for bits in bit_depths:
        start = time.perf_counter()
        data = compress(model, pixels, bits)
        seconds = time.perf_counter() - start
        quality = psnr_uint8(pixels, decompress(model, data))
        overhead = len(data) - len(unpack(data).payload)
        cells = [f"{bits}", f"{per_image(len(data)):.0f}", f"{per_image(overhead):.0f}", f"{quality:.2f}",
                 f"{n / seconds:,.0f}"]
        for matcher in (jpeg, webp):
            found = matcher.match(quality)
            floor = " (its lowest quality: above the target)" if found is not None and found[0] == 1 else ""
            cells.append("not reached at q100" if found is None
                         else f"q{found[0]}: {per_image(found[1]):.0f} ({found[2]:.2f} dB){floor}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", default=[], metavar="NAME=RUN",
                        help="a trained run folder for data set NAME (mnist or fashion-mnist)")
    parser.add_argument("--n", type=int, default=10000, help="test images per data set (default: all 10,000)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the model trained when no --run is given")
    parser.add_argument("--bits", default="2,4,6,8", help="bit depths, comma-separated")
    parser.add_argument("--data", default=",".join(DATASETS), help="data sets, comma-separated")
    args = parser.parse_args()
    runs = dict(item.split("=", 1) for item in args.run)
    bit_depths = [int(b) for b in args.bits.split(",")]
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {cpu_name()}")
    print(f"command: python {shlex.join(sys.argv)}")
    with tempfile.TemporaryDirectory(prefix="aekit-compression-") as tmp:
        for name in args.data.split(","):
            model, origin = model_for(name, runs, args.epochs, Path(tmp))
            pixels = load_dataset(name).test.images[:args.n].numpy()
            raw, png = pixels[0].size * 8, png_bytes(pixels) * 8 / len(pixels)
            print(f"\n{name}: the first {len(pixels)} test images; {model!r}, {origin}")
            print(f"raw {raw} bits per image; PNG (optimised, one file an image) {png:.0f} bits per image\n")
            print("| bits per dim | aek bits/image | of which header + histograms | aek PSNR dB | compress images/s "
                  "| JPEG matched: bits/image | WebP matched: bits/image |")
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for line in rows_for(model, pixels, bit_depths):
                print(line, flush=True)


if __name__ == "__main__":
    main()
