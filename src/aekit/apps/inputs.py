"""Images as users hand them over, checked at the door and read as the model's [N, C, H, W].

What comes in (`read_images`):
  - a numpy array or a torch tensor of pixels: uint8 0..255 (other integer
    types too, if they hold 0..255) or floats in [0, 1];
  - a PIL image, an image file path, a folder of image files (recursive,
    sorted), a `.npy` file: each read as `numpy.asarray` would give it;
  - a list or tuple of single images of any of those kinds.

Layouts, decided against the model's own image shape (C, H, W):
  - 2-d: one image [H, W];
  - 3-d: one image when the shape is the model's [C, H, W] or [H, W, C],
    otherwise a batch [N, H, W] of 1-channel images;
  - 4-d: [N, C, H, W] or [N, H, W, C], whichever matches the model; when
    neither does, channels-last only when the last dim is 1 or 3 and the
    second is not (so the error names the channels and size it saw).

What goes out (`Form`) mirrors what came in: numpy in, numpy out; torch in,
torch out (on the input's device); files and PIL images out as numpy. Images
come back in the input's layout (one image in, one image out) and range:
uint8 in, uint8 out (rounded), floats in, floats of the same dtype in [0, 1].

Nothing is converted whole: `Images.chunk(i, j)` converts a slice, so a
call on 60,000 images holds one batch of floats at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch

from aekit.data.arrays import load_array
from aekit.errors import AekitError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
CHECK_CHUNK = 4096   # images per range check: bounds the temporaries of a 60,000-image check
_PERMUTE_TO_NCHW = {"HW": None, "CHW": None, "HWC": (2, 0, 1), "NHW": None, "NCHW": None, "NHWC": (0, 3, 1, 2)}
_LAYOUTS = "an image [H, W], [C, H, W] or [H, W, C], or a batch [N, H, W], [N, C, H, W] or [N, H, W, C]"


@dataclass(frozen=True)
class Form:
    """How the caller's images were laid out, so results go back the same way."""

    kind: str                    # "numpy" or "torch"
    layout: str                  # one of _PERMUTE_TO_NCHW's keys
    dtype: torch.dtype           # uint8 or a float type: the pixels' type on the way out
    device: torch.device | None  # a torch input's device

    @property
    def single(self) -> bool:
        return not self.layout.startswith("N")

    def images(self, unit: torch.Tensor | Iterable[torch.Tensor], total: int | None = None) -> Any:
        """[N, C, H, W] floats in [0, 1] (CPU), or an iterable of such chunks
        (`total` images in all), → the caller's type, layout and range. Each
        chunk is converted into its place in the output as it comes, so only
        the output itself is held whole (uint8 for uint8 in)."""
        if isinstance(unit, torch.Tensor):
            out = self._pixels(unit)
        else:
            out, filled = None, 0
            for chunk in unit:
                pixels = self._pixels(chunk)
                if out is None:
                    out = torch.empty((total if total is not None else len(pixels), *pixels.shape[1:]),
                                      dtype=pixels.dtype)
                out[filled:filled + len(pixels)] = pixels
                filled += len(pixels)
            out = out[:filled]
        if self.single:
            out = out[0]
        return self._typed(out.contiguous())

    def _pixels(self, unit: torch.Tensor) -> torch.Tensor:
        out = unit.detach()
        if self.dtype == torch.uint8:
            out = out.mul(255).round_().to(torch.uint8)
        else:
            out = out.to(self.dtype)
        if self.layout in ("HWC", "NHWC"):
            out = out.permute(0, 2, 3, 1)
        if self.layout in ("HW", "NHW"):
            out = out[:, 0]
        return out

    def values(self, per_image: torch.Tensor) -> Any:
        """Per-image rows ([N] scores or [N, D] codes) → the caller's type; one image: its row alone."""
        out = per_image.detach()
        return self._typed(out[0] if self.single else out)

    def _typed(self, tensor: torch.Tensor) -> Any:
        if self.kind == "torch":
            return tensor.to(self.device) if self.device is not None else tensor
        return tensor.cpu().numpy()


@dataclass(frozen=True)
class Images:
    """Checked pixels: `pixels` a [N, C, H, W] view of the caller's data
    (not yet converted), `form` how to give results back, `names` the file
    names when read from files."""

    pixels: torch.Tensor
    form: Form
    names: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return self.pixels.shape[0]

    def as_form(self, kind: str = "torch", layout: str = "NCHW", dtype: torch.dtype = torch.float32) -> "Images":
        """The same images, their results given back as `kind`/`layout`/`dtype`
        (the jobs read [N, C, H, W] floats in [0, 1] whatever came in)."""
        return Images(self.pixels, Form(kind, layout, dtype, None), self.names)

    def unit(self, indices: torch.Tensor | slice = slice(None)) -> torch.Tensor:
        """The chosen images as float32 [n, C, H, W] in [0, 1] on the CPU (for pictures: a few at a time)."""
        x = self.chunk_of(self.pixels[indices].cpu())
        return x.to(torch.float32).div_(255.0) if x.dtype == torch.uint8 else x

    def chunk(self, start: int, stop: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Images start..stop as the model's `preprocess` reads them: uint8, or float32 in [0, 1]."""
        return self.chunk_of(self.pixels[start:stop].to(device))

    @staticmethod
    def chunk_of(part: torch.Tensor) -> torch.Tensor:
        if part.dtype == torch.uint8:
            return part
        if part.is_floating_point():
            return part.to(torch.float32)
        return part.to(torch.float32).div_(255.0)   # other integer pixels, checked to lie in 0..255


def read_images(images: Any, shape: Sequence[int]) -> Images:
    """Check `images` against a model's image shape (C, H, W) and wrap them; every problem is one AekitError."""
    shape = tuple(int(s) for s in shape)
    if isinstance(images, (list, tuple)):
        return _read_list(images, shape)
    tensor, form, names = _as_tensor(images, shape[0])
    layout = _layout(tuple(tensor.shape), shape)
    if isinstance(images, (str, os.PathLike)) and Path(images).is_dir():
        layout = "NHW" if tensor.dim() == 3 else "NHWC"   # a folder is a batch, even of one image
    pixels = _to_nchw(tensor, layout)
    _check(pixels, shape, layout, tuple(tensor.shape))
    return Images(pixels, Form(form[0], layout, _out_dtype(tensor.dtype), form[1]), names)


def read_codes(codes: Any, dim: int) -> tuple[torch.Tensor, Form]:
    """Codes [N, dim] (or one code [dim]) as float32, with the Form to give images back in ([N, C, H, W] floats)."""
    if isinstance(codes, (list, tuple)):
        if not codes:
            raise AekitError("codes: got an empty list; give codes as an array [N, D]")
        codes = np.asarray([np.asarray(c.detach().cpu() if isinstance(c, torch.Tensor) else c) for c in codes])
    if isinstance(codes, torch.Tensor):
        kind, device, tensor = "torch", codes.device, codes.detach()
    elif isinstance(codes, np.ndarray):
        kind, device, tensor = "numpy", None, _from_numpy(codes, "codes")
    else:
        raise AekitError(f"codes: got {type(codes).__name__}; give a numpy array or torch tensor [N, {dim}]")
    if tensor.dtype == torch.bool or tensor.is_complex() or not (tensor.is_floating_point() or _is_int(tensor)):
        raise AekitError(f"codes: got {tensor.dtype} values; give real numbers (float32)")
    single = tensor.dim() == 1
    if tensor.dim() not in (1, 2) or tensor.shape[-1] != dim:
        raise AekitError(f"codes: the model's code has {dim} numbers per image, so expected [N, {dim}] or "
                         f"[{dim}]; got shape {list(tensor.shape)}")
    tensor = tensor.reshape(-1, dim).to(torch.float32)
    if len(tensor) == 0:
        raise AekitError(f"codes: got an empty batch [0, {dim}]; give at least one code")
    if not torch.isfinite(tensor).all():
        raise AekitError("codes: hold NaN or infinite values; give finite numbers")
    return tensor, Form(kind, "CHW" if single else "NCHW", torch.float32, device)


# -- containers -------------------------------------------------------------------
def _as_tensor(images: Any, channels: int) -> tuple[torch.Tensor, tuple[str, torch.device | None], tuple | None]:
    """(a tensor sharing the caller's memory where it can, (kind, device), file names or None)."""
    if isinstance(images, torch.Tensor):
        return images.detach(), ("torch", images.device), None
    if isinstance(images, np.ndarray):
        return _from_numpy(images, "images"), ("numpy", None), None
    if _is_pil(images):
        return torch.from_numpy(pil_array(images, channels)), ("numpy", None), None
    if isinstance(images, (str, os.PathLike)):
        path = Path(images)
        if path.is_dir():
            files = image_files(path)
            stacked = _stack([torch.from_numpy(read_image_file(f, channels)) for f in files], "images in " + str(path))
            return stacked, ("numpy", None), tuple(str(f) for f in files)
        if path.suffix.lower() == ".npy":
            return _from_numpy(_load_npy(path), str(path)), ("numpy", None), None
        return torch.from_numpy(read_image_file(path, channels)), ("numpy", None), (str(path),)
    raise AekitError(f"images: got {type(images).__name__}; give a numpy array, a torch tensor, a PIL image, "
                     f"an image file or folder path, a .npy file, or a list of those")


def _read_list(items: Sequence, shape: tuple[int, int, int]) -> Images:
    """A list of single images: each read and checked alone, then stacked."""
    if not items:
        raise AekitError("images: got an empty list; give at least one image")
    parts, names, forms = [], [], []
    for i, item in enumerate(items):
        one = read_images(item, shape)
        folder = isinstance(item, (str, os.PathLike)) and Path(item).is_dir()   # all its images
        if not folder and not one.form.single:
            raise AekitError(f"images[{i}]: a list holds single images, got a batch of {len(one)} "
                             f"(layout {one.form.layout}); give the batch as one array instead")
        parts.append(one.pixels)
        forms.append(one.form)
        names += list(one.names) if one.names else [None] * len(one)
    dtypes = {p.dtype for p in parts}
    pixels = torch.cat([p.to(torch.float32) / (255.0 if not p.is_floating_point() else 1.0) for p in parts]) \
        if len(dtypes) > 1 else torch.cat([p.cpu() for p in parts])
    first = forms[0]
    kind = "torch" if all(f.kind == "torch" for f in forms) else "numpy"
    layout = first.layout if first.layout.startswith("N") else "N" + first.layout
    dtype = _out_dtype(pixels.dtype)
    return Images(pixels, Form(kind, layout, dtype, first.device if kind == "torch" else None),
                  tuple(names) if all(n is not None for n in names) else None)


def _stack(tensors: list[torch.Tensor], what: str) -> torch.Tensor:
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        a, b = sorted(shapes)[:2]
        raise AekitError(f"{what}: images differ in shape ({list(a)} and {list(b)}); give images of one size")
    return torch.stack(tensors)


def _from_numpy(array: np.ndarray, what: str) -> torch.Tensor:
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise AekitError(f"{what}: got a numpy array of {array.dtype}; give pixels as uint8 0..255 or floats in [0, 1]")
    if array.dtype.kind == "u" and array.dtype != np.uint8:
        array = array.astype(np.int64)   # torch has no uint16/uint32 arithmetic everywhere
    try:
        return torch.from_numpy(array)
    except ValueError:   # negative strides (a flipped view): torch needs a copy
        return torch.from_numpy(np.ascontiguousarray(array))


def _load_npy(path: Path) -> np.ndarray:
    return load_array(path, "give the .npz to the command line, or load the array yourself")


# -- files and PIL images ---------------------------------------------------------------
def _is_pil(obj: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:   # pragma: no cover - Pillow is a dependency
        return False
    return isinstance(obj, Image.Image)


def pil_array(image, channels: int) -> np.ndarray:
    """A PIL image as np.asarray gives it, converted to the model's channels
    (grey [H, W] for 1, RGB [H, W, 3] for 3): a file's colour mode is how it
    was saved, not a property of the picture, so it is not held against it."""
    mode = "L" if channels == 1 else "RGB"
    return np.array(image.convert(mode) if image.mode != mode else image)   # a writable copy, for torch


def read_image_file(path: Path, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise AekitError(f"image file {path} not found: check the path")
    try:
        with Image.open(path) as im:
            return pil_array(im, channels).copy()
    except (UnidentifiedImageError, OSError, ValueError) as err:
        reason = "not an image file" if isinstance(err, UnidentifiedImageError) else str(err)
        raise AekitError(f"cannot read image {path} ({reason}): give PNG, JPEG, BMP or GIF files") from None


def image_files(folder: Path) -> list[Path]:
    """The image files under `folder` (recursive, hidden ones skipped), sorted by relative path."""
    found = []
    for here, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(here, n) for n in names if not n.startswith(".") and n.lower().endswith(IMAGE_SUFFIXES)]
    if not found:
        raise AekitError(f"no images found in {folder} (looked for {' '.join(IMAGE_SUFFIXES)}): "
                         f"give a folder of image files")
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


# -- layout and checks ---------------------------------------------------------------------
def _layout(shape: tuple[int, ...], model: tuple[int, int, int]) -> str:
    c, h, w = model
    if len(shape) == 2:
        return "HW"
    if len(shape) == 3:
        if shape == (c, h, w):
            return "CHW"
        if shape == (h, w, c):
            return "HWC"
        if shape[1:] == (h, w):
            return "NHW"
        if shape[-1] in (1, 3) and shape[0] not in (1, 3):
            return "HWC"
        return "CHW" if shape[0] in (1, 3) else "NHW"
    if len(shape) == 4:
        if shape[1:] == (c, h, w):
            return "NCHW"
        if shape[1:] == (h, w, c):
            return "NHWC"
        return "NHWC" if shape[-1] in (1, 3) and shape[1] not in (1, 3) else "NCHW"
    raise AekitError(f"images: got shape {list(shape)} ({len(shape)} dims); expected {_LAYOUTS}")


def _to_nchw(tensor: torch.Tensor, layout: str) -> torch.Tensor:
    order = _PERMUTE_TO_NCHW[layout]
    x = tensor.permute(*order) if order else tensor
    if layout in ("HW", "NHW"):
        x = x.unsqueeze(-3)
    if not layout.startswith("N"):
        x = x.unsqueeze(0)
    return x


def _check(pixels: torch.Tensor, model: tuple[int, int, int], layout: str, given: tuple[int, ...]) -> None:
    c, h, w = model
    seen = f"shape {list(given)} read as {layout}"
    if pixels.shape[0] == 0:
        raise AekitError(f"images: got an empty batch ({seen}); give at least one image")
    n, ci, hi, wi = pixels.shape
    if (hi, wi) != (h, w):
        raise AekitError(f"images: the model reads {h}x{w} images, got {hi}x{wi} ({seen}); resize them to {h}x{w}")
    if ci != c:
        fix = "convert them to grey" if c == 1 else "convert them to RGB"
        raise AekitError(f"images: the model reads {c}-channel images, got {ci} channels ({seen}); {fix}")
    dtype = pixels.dtype
    if dtype == torch.uint8:
        return
    if dtype == torch.bool or pixels.is_complex() or not (pixels.is_floating_point() or _is_int(pixels)):
        raise AekitError(f"images: got {dtype} pixels; give uint8 0..255 or floats in [0, 1]")
    for start in range(0, n, CHECK_CHUNK):
        part = pixels[start:start + CHECK_CHUNK]
        if part.is_floating_point():
            finite = torch.isfinite(part).flatten(1).all(1)
            if not finite.all():
                bad = start + int((~finite).nonzero()[0])
                raise AekitError(f"images: image {bad} holds NaN or infinite values; give finite pixels in [0, 1]")
            low, high, expected = 0.0, 1.0, "floats in [0, 1] (or uint8 0..255)"
        else:
            low, high, expected = 0, 255, "integer pixels in 0..255 (or floats in [0, 1])"
        lo, hi = part.amin(), part.amax()
        if lo < low or hi > high:
            raise AekitError(f"images: values range from {float(lo):g} to {float(hi):g}, outside the data range; "
                             f"expected {expected}" + ("; divide uint8-scale floats by 255" if hi > 1 and hi <= 255
                                                       and part.is_floating_point() else ""))


def _is_int(tensor: torch.Tensor) -> bool:
    return tensor.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def _out_dtype(dtype: torch.dtype) -> torch.dtype:
    """Pixels go back uint8 for any integer input, in the same float type for floats."""
    return dtype if dtype.is_floating_point else torch.uint8
