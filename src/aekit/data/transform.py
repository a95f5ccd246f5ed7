"""Resizing and channel conversion of whole uint8 image tensors.

Used for built-in and array data when `image_size` / `channels` are given
(image folders are converted per image by Pillow while they are read).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from aekit.errors import DataError

_CHUNK = 4096   # images per interpolate call: bounds the float32 working memory


def check_image_size(image_size) -> tuple[int, int] | None:
    """None, or (height, width) from an int or a pair of ints."""
    if image_size is None:
        return None
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if len(size) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise DataError(f"image_size must be a positive int or a (height, width) pair, got {image_size!r}: "
                        f"pass e.g. image_size=28 or image_size=(32, 32)")
    return size


def check_channels(channels) -> int | None:
    if channels not in (None, 1, 3) or isinstance(channels, bool):
        raise DataError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}: pass channels=1 or channels=3")
    return channels


def adapt(images: torch.Tensor, size: tuple[int, int] | None, channels: int | None) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, channels, *size] (None keeps that property).

    Grey conversion happens before resizing and grey-to-RGB after it, so the
    interpolation always runs on as few channels as possible."""
    if channels == 1 and images.shape[1] == 3:
        images = to_grey(images)
    if size is not None and tuple(images.shape[2:]) != size:
        images = torch.cat([_resize(chunk, size) for chunk in images.split(_CHUNK)]) if len(images) \
            else images.new_empty((0, images.shape[1], *size))
    if channels == 3 and images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    return images.contiguous()


def to_grey(images: torch.Tensor) -> torch.Tensor:
    """RGB -> grey with Pillow's ITU-R 601-2 luma weights and fixed-point rounding,
    so array data and image folders give the same grey values."""
    r, g, b = images.to(torch.int32).unbind(1)
    grey = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16
    return grey.unsqueeze(1).to(torch.uint8)


def _resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    # Antialiasing matters (and costs) only when shrinking.
    shrink = size[0] < images.shape[2] or size[1] < images.shape[3]
    out = F.interpolate(images.float(), size=size, mode="bilinear", align_corners=False, antialias=shrink)
    return out.round_().clamp_(0, 255).to(torch.uint8)
