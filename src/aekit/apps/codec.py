"""Lossy image compression with a trained autoencoder: images → .aek bytes → images.

compress: each image's deterministic code (a VAE's posterior mean) is
quantised uniformly at `bits` per dimension over the range this file's codes
span (per file: lo = the dimension's minimum, step = (max - min) / (2**bits - 1)),
and the symbols are entropy-coded with constriction's ANS coder, each
dimension under a categorical model proportional to its histogram of
symbols in this file. The histograms travel in the file (container.py), so
decompression needs only the file and the model, never its training data,
and the rate is each dimension's empirical entropy plus the table.

decompress: the file's symbols → codes lo + symbol * step → the model's
decoder (its likelihood's mean) → uint8 [N, C, H, W]. A file written with
other weights is refused (the weights hash in the file differs).

The loss: the model's own reconstruction error plus the quantiser's (at most
step / 2 per code value); `benchmarks/compression.py` measures both.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from aekit.apps.container import CODER, MAX_BITS, Container, pack, unpack
from aekit.apps.model import Model
from aekit.errors import AekitError
from aekit.io.weights_hash import model_hash


def compress(model: Model, images: Any, bits: int = 8) -> bytes:
    """The .aek bytes of `images` (anything `Model` reads) at `bits` per code dimension."""
    model = _as_model(model)
    if not isinstance(bits, (int, np.integer)) or isinstance(bits, bool) or not 1 <= bits <= MAX_BITS:
        raise AekitError(f"bits must be a whole number from 1 to {MAX_BITS}, got {bits!r}")
    bits = int(bits)
    batch = model.images(images)
    if not 0 < len(batch) < 2 ** 32:
        raise AekitError(f"compress takes 1 to {2 ** 32 - 1:,} images in one file, got {len(batch):,}")
    codes = np.asarray(model.encode(batch.as_form("numpy")), dtype=np.float32)
    if not np.isfinite(codes).all():
        raise AekitError("the model's codes for these images are not finite (NaN or Inf): its weights are "
                         "broken; retrain it")
    lo, step = fit_quantiser(codes, bits)
    symbols = quantise(codes, lo, step, bits)
    counts = np.stack([np.bincount(s, minlength=1 << bits) for s in symbols.T]).astype(np.uint32)
    payload = _entropy_code(symbols, counts)
    box = Container(model_hash(model.autoencoder), tuple(model.input_shape), len(codes), bits, lo, step,
                    counts, payload, CODER)
    return pack(box)


def decompress(model: Model, data: bytes, source: str = "the .aek data") -> np.ndarray:
    """The images in .aek `data`, uint8 [N, C, H, W]; `source` names the data in errors."""
    model = _as_model(model)
    box = unpack(data, source)
    expected = model_hash(model.autoencoder)
    if box.model_hash != expected:
        raise AekitError(f"{source} was compressed with another model (weights hash {box.model_hash[:12]}…, "
                         f"this model's is {expected[:12]}…): decompress it with the model that compressed it")
    if box.shape != tuple(model.input_shape) or box.code_dim != model.code_dim:
        raise AekitError(f"{source} holds {list(box.shape)} images with {box.code_dim}-d codes, but this model "
                         f"makes {list(model.input_shape)} images from {model.code_dim}-d codes")
    symbols = _entropy_decode(box, source)
    codes = dequantise(symbols, box.lo, box.step)
    out = np.empty((box.count, *box.shape), dtype=np.uint8)
    for start in range(0, box.count, model.batch_size):   # floats for one batch at a time
        images = model.decode(codes[start:start + model.batch_size])
        out[start:start + len(images)] = np.rint(np.clip(images, 0.0, 1.0) * 255.0)
    return out


def fit_quantiser(codes: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Per dimension float32 lo and step spanning the codes' range in 2**bits levels."""
    lo = codes.min(axis=0).astype(np.float32)
    hi = codes.max(axis=0).astype(np.float32)
    step = ((hi.astype(np.float64) - lo) / ((1 << bits) - 1)).astype(np.float32)
    return lo, step


def quantise(codes: np.ndarray, lo: np.ndarray, step: np.ndarray, bits: int) -> np.ndarray:
    """Symbols int32 [N, D]: each code value's nearest level (a constant dimension's is 0)."""
    safe = np.where(step > 0, step, 1.0).astype(np.float64)
    levels = np.rint((codes.astype(np.float64) - lo) / safe)
    levels[:, step == 0] = 0
    return np.clip(levels, 0, (1 << bits) - 1).astype(np.int32)


def dequantise(symbols: np.ndarray, lo: np.ndarray, step: np.ndarray) -> np.ndarray:
    return (lo + symbols.astype(np.float32) * step).astype(np.float32)


def _constriction():
    """The entropy coder's library, imported when first needed (importing aekit loads nothing)."""
    try:
        import constriction
    except ImportError:
        raise AekitError("the .aek codec needs the constriction library: pip install constriction") from None
    return constriction


def _categorical(row: np.ndarray):
    constriction = _constriction()
    # perfect=False: the fast, documented construction; encoder and decoder both use it.
    return constriction.stream.model.Categorical(row.astype(np.float64), perfect=False)


def _entropy_code(symbols: np.ndarray, counts: np.ndarray) -> bytes:
    constriction = _constriction()

    coder = constriction.stream.stack.AnsCoder()
    # ANS is a stack: the last dimension goes in first so that dimension 0 comes out first.
    for d in reversed(range(symbols.shape[1])):
        coder.encode_reverse(np.ascontiguousarray(symbols[:, d]), _categorical(counts[d]))
    return coder.get_compressed().astype("<u4").tobytes()


def _entropy_decode(box: Container, source: str) -> np.ndarray:
    constriction = _constriction()
    words = np.frombuffer(box.payload, "<u4").astype(np.uint32)
    symbols = np.empty((box.count, box.code_dim), dtype=np.int32)
    try:
        coder = constriction.stream.stack.AnsCoder(words)
        for d in range(box.code_dim):
            symbols[:, d] = coder.decode(_categorical(box.counts[d]), box.count)
        whole = coder.is_empty()
    except (ValueError, RuntimeError, AssertionError) as err:
        raise AekitError(f"{source} is not a valid .aek file (its payload does not decode: {err}): "
                         f"compress the images again") from None
    if not whole:
        raise AekitError(f"{source} is not a valid .aek file (its payload does not decode to exactly its "
                         f"{box.count} images): compress the images again")
    return symbols


def _as_model(model: Any) -> Model:
    from aekit.models.autoencoder import Autoencoder

    if isinstance(model, Model):
        return model
    if isinstance(model, Autoencoder):
        return Model(model)
    raise AekitError(f"the codec takes a model from aekit.load (or an aekit Autoencoder), got "
                     f"{type(model).__name__}")


# -- what a round trip costs and keeps: the figures `aekit compress` prints ---------------------
@dataclass(frozen=True)
class Rate:
    images: int
    aek_bytes: int          # the whole file
    png_bytes: int          # each image as its own optimised PNG, summed
    raw_bytes: int          # C * H * W per image
    psnr: float             # dB, decompressed vs original, mean over images
    psnr_model: float       # dB, the model's own reconstruction (unquantised codes) vs original

    def per_image(self, nbytes: int) -> float:
        return nbytes / self.images


def pixels_uint8(model: Model, images: Any) -> np.ndarray:
    """`images` as uint8 [N, C, H, W] (floats in [0, 1] rounded to the nearest level)."""
    batch = model.images(images)
    pixels = batch.pixels
    if pixels.dtype != torch.uint8:
        pixels = torch.round(batch.unit() * 255.0).to(torch.uint8)
    return pixels.cpu().numpy()


def png_bytes(pixels: np.ndarray) -> int:
    """The bytes of each image as its own PNG (Pillow, optimize=True), summed."""
    from PIL import Image

    total = 0
    for image in pixels:
        array = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(array)).save(buffer, format="PNG", optimize=True)
        total += buffer.tell()
    return total


def psnr_uint8(original: np.ndarray, decoded: np.ndarray) -> float:
    """Mean per-image PSNR in dB of uint8 images on [0, 1] pixels (aekit.metrics.psnr)."""
    from aekit.metrics.psnr import psnr

    if original.shape != decoded.shape:
        raise ValueError(f"PSNR of images {list(original.shape)} against {list(decoded.shape)}: shapes differ")
    to_unit = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(torch.float64) / 255.0  # noqa: E731
    return psnr(to_unit(original), to_unit(decoded))


def measure(model: Model, pixels: np.ndarray, data: bytes, decoded: np.ndarray) -> Rate:
    """The figures of one round trip: sizes against PNG and raw, PSNR of the codec and of the model alone."""
    model = _as_model(model)
    recon = np.rint(np.clip(model.reconstruct(pixels.astype(np.float32) / 255.0), 0, 1) * 255).astype(np.uint8)
    return Rate(len(pixels), len(data), png_bytes(pixels), int(np.prod(pixels.shape[1:])) * len(pixels),
                psnr_uint8(pixels, decoded), psnr_uint8(pixels, recon))


# -- the jobs: files in and out -----------------------------------------------------------------
@dataclass(frozen=True)
class Compressed:
    path: Path
    rate: Rate


def compress_job(model: Model, images: Any, out: str | Path, bits: int = 8) -> Compressed:
    """Compress `images` into the .aek file `out` (atomically) and measure the round trip."""
    from aekit.fs import atomic_write_bytes

    out = Path(out)
    if out.suffix != ".aek" or out.is_dir():
        raise AekitError(f"compress writes an .aek file; got -o {out}: name it e.g. images.aek")
    model = _as_model(model)
    pixels = pixels_uint8(model, images)
    data = compress(model, pixels, bits)
    decoded = decompress(model, data)
    rate = measure(model, pixels, data, decoded)
    atomic_write_bytes(out, data)
    return Compressed(out, rate)


@dataclass(frozen=True)
class Decompressed:
    images: np.ndarray          # uint8 [N, C, H, W]
    files: dict[str, Path]


def decompress_job(model: Model, file: str | Path, out: str | Path, n_grid: int = 100) -> Decompressed:
    """The images of the .aek `file` → the folder `out`: images.npy (uint8 [N, C, H, W]) and
    grid.png (the first `n_grid`, 10 a row)."""
    from aekit.apps.results import save_npy
    from aekit.io.images import make_grid, save_png

    file = Path(file)
    if not file.is_file():
        raise AekitError(f".aek file {file} not found: give a file that `aekit compress` wrote")
    images = decompress(model, file.read_bytes(), str(file))
    out = Path(out)
    files = {"images": out / "images.npy", "grid": out / "grid.png"}
    save_npy(files["images"], images)
    save_png(files["grid"], make_grid(torch.from_numpy(images[:n_grid]).float() / 255.0, 10))
    return Decompressed(images, files)
