"""Convolutional encoder and decoder, described as a list of layers.

A stack is a list of entries, each exactly one of

    {filters: 16, kernel: 3, stride: 2, padding: same}    a convolution
    {filters: 16, kernel: 4, stride: 2, transpose: true}  a transposed convolution
    {pool: 2}              max-pooling (window 2, stride = window unless pool_stride;
                           padding: same pads as Keras's MaxPooling2D(padding='same'))
    {upsample: 2}          nearest-neighbour upsampling

`padding: same` means Keras/TF "same": a convolution's output is
ceil(size / stride), a transposed convolution's is size * stride; uneven
padding goes right/bottom (TF's rule), so Keras architectures port exactly.

The shapes are worked out when the stack is built (`conv_shapes`), so a stack
that does not fit the image (a size shrinking to zero, a decoder ending at the
wrong size) is a one-line ConfigError naming the layer, not a runtime crash.

Any image size: a decoder's `start` may give only its channels ([C]) or be left
out (the encoder's output channels), and its height and width are then solved
from the stack so that it ends at the image's size (`solve_start`); a size no
start can reach is a one-line error naming the sizes the stack can make. The
output layer's `filters: channels` takes the image's channel count (1 or 3).
Images are never padded or cropped to fit: that would change what is learned
without saying so.

Encoder: image → conv stack → flatten → optional dense layers → features for
the bottleneck. Decoder: code → (dense layers) → projection to `start`
[C, H, W] → conv stack → image (or, with `dense_output`, flatten → one dense
layer to the image, as in the TF1 conv VAE tutorial). The decoder's final
layer carries no activation: the likelihood applies its own (sigmoid, tanh).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import torch
from torch import nn

from aekit.errors import ConfigError
from aekit.nn.linear import Linear
from aekit.nn.activations import check_activation, make_activation
from aekit.nn.interfaces import Decoder, DecoderConfig, Encoder, EncoderConfig
from aekit.nn.mlp import mlp_layers
from aekit.nn.registry import DECODERS, ENCODERS


IMAGE_CHANNELS = "channels"   # `filters: channels`: as many filters as the image has channels


@dataclass
class ConvLayer:
    filters: int | Literal["channels"] | None = None   # output channels of a convolution ("channels": the image's); null: a pool or upsample layer
    kernel: int = 3   # convolution kernel size
    stride: int = 1   # convolution stride
    padding: int | str = 0          # an integer, or "same"
    output_padding: int = 0         # transposed convolutions only
    transpose: bool = False   # a transposed convolution (decoders)
    pool: int = 0   # a max-pool layer with this window (instead of a convolution)
    pool_stride: int | None = None   # max-pool stride; null: the window
    upsample: int = 0   # a nearest-neighbour upsampling layer by this factor (instead of a convolution)
    activation: str | None = None   # overrides the stack's activation for this layer

    def validate(self):
        kinds = [self.filters is not None, self.pool > 0, self.upsample > 0]
        if sum(kinds) != 1:
            raise ConfigError("a conv layer is exactly one of {filters: N, ...}, {pool: N} or {upsample: N}")
        if isinstance(self.filters, int) and self.filters <= 0:
            raise ConfigError("filters, kernel and stride must be positive integers")
        if self.filters is not None and (self.kernel <= 0 or self.stride <= 0):
            raise ConfigError("filters, kernel and stride must be positive integers")
        if isinstance(self.padding, str) and self.padding != "same":
            raise ConfigError(f"padding: expected an integer or 'same', got {self.padding!r}")
        if isinstance(self.padding, int) and self.padding < 0:
            raise ConfigError("padding: must be non-negative")
        if self.pool_stride is not None and self.pool_stride <= 0:
            raise ConfigError("pool_stride: must be a positive integer")
        if self.pool and self.padding not in (0, "same"):
            raise ConfigError(f"a pool's padding is 0 or 'same', got {self.padding!r}")
        check_activation(self.activation)

    @property
    def kind(self) -> str:
        if self.filters is not None:
            return "conv_transpose" if self.transpose else "conv"
        return "pool" if self.pool else "upsample"


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF "same" padding of one axis: (before, after)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _layer_out(layer: ConvLayer, size: int) -> int:
    """The output size of one spatial axis."""
    if layer.kind == "pool":
        stride = layer.pool_stride or layer.pool
        if layer.padding == "same":
            return math.ceil(size / stride)
        return (size - layer.pool) // stride + 1
    if layer.kind == "upsample":
        return size * layer.upsample
    k, s = layer.kernel, layer.stride
    if layer.kind == "conv":
        if layer.padding == "same":
            return math.ceil(size / s)
        return (size + 2 * layer.padding - k) // s + 1
    if layer.padding == "same":
        return size * s
    return (size - 1) * s - 2 * layer.padding + k + layer.output_padding


def _axis_out(layers: list[ConvLayer], size: int) -> int:
    """One spatial axis through the whole stack (0 once it shrinks below 1)."""
    for layer in layers:
        size = _layer_out(layer, size)
        if size < 1:
            return 0
    return size


def solve_start(layers: list[ConvLayer], image_hw: tuple[int, int], where: str = "layers") -> tuple[int, int]:
    """The (height, width) a decoder stack must start from to end at `image_hw`;
    a one-line ConfigError naming the sizes it can make when none does."""
    solved, nearest, near = [], [], []
    for size in image_hw:
        found = [s for s in range(1, size + 1) if _axis_out(layers, s) == size]
        makes = sorted({_axis_out(layers, s) for s in range(1, 2 * size + 2)} - {0})
        solved.append(found[0] if found else None)
        nearest.append(size if found else min(makes, key=lambda m: (abs(m - size), m)))
        if not found and not near:
            near = [m for m in makes if m < size][-3:] + [m for m in makes if m > size][:3]
    if None in solved:
        raise ConfigError(
            f"{where}: this stack cannot end at the image size {image_hw[0]}x{image_hw[1]}; near it, it makes "
            f"{', '.join(str(m) for m in near)}: resize the images to such a size "
            f"(e.g. --set data.image_size=[{nearest[0]},{nearest[1]}]) or change the strides"
        )
    return solved[0], solved[1]


def conv_shapes(layers: list[ConvLayer], shape: tuple[int, int, int], where: str = "layers") -> list[tuple[int, int, int]]:
    """[C, H, W] after each layer, starting from `shape`; ConfigError if a size
    drops below 1."""
    shapes = [tuple(shape)]
    c, h, w = shape
    for i, layer in enumerate(layers):
        h, w = _layer_out(layer, h), _layer_out(layer, w)
        if layer.filters is not None:
            c = layer.filters
        if h < 1 or w < 1:
            raise ConfigError(
                f"{where}[{i}]: a {shapes[-1][1]}x{shapes[-1][2]} input shrinks to {h}x{w}: "
                "use fewer or smaller strides/pools for this image size"
            )
        shapes.append((c, h, w))
    return shapes


class _SamePool(nn.Module):
    """Max-pooling with TF "same" padding: the padded cells are -inf, so
    they never win (Keras's MaxPooling2D(padding='same'), e.g. 7 -> 4)."""

    def __init__(self, window: int, stride: int, pad: tuple[int, int, int, int]):
        super().__init__()
        self.window, self.stride, self.pad = window, stride, pad

    def forward(self, x):
        x = nn.functional.pad(x, self.pad, value=float("-inf")) if any(self.pad) else x
        return nn.functional.max_pool2d(x, self.window, self.stride)


class _Crop(nn.Module):
    """Trims a transposed convolution's output to TF "same" size."""

    def __init__(self, top: int, bottom: int, left: int, right: int):
        super().__init__()
        self.top, self.bottom, self.left, self.right = top, bottom, left, right

    def forward(self, x):
        h, w = x.shape[-2:]
        return x[..., self.top:h - self.bottom, self.left:w - self.right]


def _conv_modules(layer: ConvLayer, in_shape) -> list[nn.Module]:
    c_in, h, w = in_shape
    k, s = layer.kernel, layer.stride
    if layer.kind == "pool":
        stride = layer.pool_stride or layer.pool
        if layer.padding == "same":
            (t, b), (lft, r) = _same_pad(h, layer.pool, stride), _same_pad(w, layer.pool, stride)
            return [_SamePool(layer.pool, stride, (lft, r, t, b))]
        return [nn.MaxPool2d(layer.pool, stride=stride)]
    if layer.kind == "upsample":
        return [nn.Upsample(scale_factor=layer.upsample, mode="nearest")]
    if layer.kind == "conv":
        if layer.padding != "same":
            return [nn.Conv2d(c_in, layer.filters, k, stride=s, padding=layer.padding)]
        (t, b), (lft, r) = _same_pad(h, k, s), _same_pad(w, k, s)
        if t == b and lft == r:
            return [nn.Conv2d(c_in, layer.filters, k, stride=s, padding=(t, lft))]
        return [nn.ZeroPad2d((lft, r, t, b)), nn.Conv2d(c_in, layer.filters, k, stride=s)]
    if layer.padding != "same":
        return [nn.ConvTranspose2d(c_in, layer.filters, k, stride=s, padding=layer.padding,
                                   output_padding=layer.output_padding)]
    # Full transposed conv is (in-1)*s + k; "same" keeps in*s, cropping k - s (TF: extra at the end).
    extra = max(k - s, 0)
    if extra % 2 == 0:
        return [nn.ConvTranspose2d(c_in, layer.filters, k, stride=s, padding=extra // 2)]
    return [nn.ConvTranspose2d(c_in, layer.filters, k, stride=s),
            _Crop(extra // 2, extra - extra // 2, extra // 2, extra - extra // 2)]


def build_stack(layers: list[ConvLayer], shape, activation: str, slope: float, dropout: float,
                batch_norm: bool, raw_last: bool = False) -> tuple[nn.Sequential, tuple[int, int, int]]:
    """The modules of a conv stack and its output shape. Each convolution is
    followed by batch norm, its activation and dropout (as configured), except
    the last one when `raw_last` (a decoder's output layer)."""
    shapes = conv_shapes(layers, shape)
    last_conv = max((i for i, layer in enumerate(layers) if layer.filters is not None), default=-1)
    modules: list[nn.Module] = []
    for i, layer in enumerate(layers):
        modules += _conv_modules(layer, shapes[i])
        if layer.filters is None or (raw_last and i == last_conv):
            continue
        if batch_norm:
            modules.append(nn.BatchNorm2d(layer.filters))
        modules.append(make_activation(layer.activation or activation, slope))
        if dropout > 0:
            modules.append(nn.Dropout(dropout))
    return nn.Sequential(*modules), shapes[-1]


@dataclass
class _ConvOptions:
    layers: list[ConvLayer] = field(default_factory=list)   # the conv stack, image side first for the encoder (items: conv layer, below)
    dense: list[int] = field(default_factory=list)   # dense hidden widths (encoder: after flatten; decoder: before start)
    activation: str = "relu"   # the stack's activation
    slope: float = 0.01          # leaky_relu's negative slope (0.3 in the TF1 conv VAE)
    dropout: float = 0.0         # after each hidden conv/dense layer, training only
    batch_norm: bool = False   # batch normalisation after each hidden layer
    # "glorot": Keras's and tf.layers' defaults (Glorot-uniform weights, zero
    # biases) instead of torch's. Keras ports need it: with torch's init the
    # Keras conv AE's ReLU decoder can die in its first steps (all-black output,
    # SSE stuck at 80): measured on ae-2d for 1 of 2 seeds with RMSprop 3e-4 and
    # both with Adam 3e-4; with Glorot both seeds train.
    init: Literal["torch", "glorot"] = "torch"

    def validate(self):
        check_activation(self.activation)
        if not 0 <= self.dropout < 1:
            raise ConfigError("dropout: must be in [0, 1)")
        if any(w <= 0 for w in self.dense):
            raise ConfigError("dense: every width must be a positive integer")


@ENCODERS.register("conv")
@dataclass
class ConvEncoderConfig(_ConvOptions, EncoderConfig):
    layers: list[ConvLayer] = field(default_factory=lambda: [
        ConvLayer(filters=32, kernel=3, stride=2, padding="same"),
        ConvLayer(filters=64, kernel=3, stride=2, padding="same"),
    ])

    def validate(self):
        super().validate()
        if any(layer.kind in ("conv_transpose", "upsample") for layer in self.layers):
            raise ConfigError("layers: an encoder uses convolutions and pools, not transposed convs or upsampling")
        if any(layer.filters == IMAGE_CHANNELS for layer in self.layers):
            raise ConfigError("layers: `filters: channels` is for a decoder's output layer; give an encoder's "
                              "layers a number of filters")

    def build(self, input_shape) -> "ConvEncoder":
        return ConvEncoder(self, tuple(input_shape))


def apply_init(module: nn.Module, init: str) -> None:
    """Re-initialise every conv and dense layer of `module` (see `_ConvOptions.init`)."""
    if init != "glorot":
        return
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


class ConvEncoder(Encoder):
    def __init__(self, cfg: ConvEncoderConfig, input_shape):
        super().__init__()
        try:
            self.convs, self.conv_shape = build_stack(cfg.layers, input_shape, cfg.activation, cfg.slope,
                                                      cfg.dropout, cfg.batch_norm)
        except ConfigError as err:
            raise ConfigError(f"model.encoder.{err}") from None
        dense, self.out_features = mlp_layers(math.prod(self.conv_shape), list(cfg.dense), cfg.activation,
                                              cfg.slope, cfg.dropout, cfg.batch_norm)
        self.head = nn.Sequential(nn.Flatten(), *dense)
        apply_init(self, cfg.init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(x))


@DECODERS.register("conv")
@dataclass
class ConvDecoderConfig(_ConvOptions, DecoderConfig):
    """`start` [C, H, W] is the feature map the conv stack begins from: the
    code (after `dense`) is projected onto it by a dense layer with the
    stack's activation (Keras: Dense(7*7*64, relu) + Reshape), or reshaped
    as it is with `project: false` when the code already has that size.
    [C] gives the channels only and null mirrors a conv encoder's output
    channels (64 after an MLP encoder); H and W are then solved from the
    image size (see the module's docstring)."""

    start: list[int] | None = None   # [C, H, W] the decoder's conv stack starts from; [C] or null: H, W (and C) solved from the image size
    project: bool = True   # map the code onto `start` with a dense layer (false: reshape it as it is)
    dense_output: bool = False      # flatten the stack and map to the image with one dense layer
    layers: list[ConvLayer] = field(default_factory=lambda: [
        ConvLayer(filters=32, kernel=3, stride=2, padding="same", transpose=True),
        ConvLayer(filters=IMAGE_CHANNELS, kernel=3, stride=2, padding="same", transpose=True),
    ])

    def validate(self):
        super().validate()
        if self.start is not None and (len(self.start) not in (1, 3) or min(self.start) <= 0):
            raise ConfigError("start: expected [channels, height, width] of the first feature map, e.g. [64, 7, 7], "
                              "or [channels] to fit any image size")
        if any(layer.kind == "pool" for layer in self.layers):
            raise ConfigError("layers: a decoder upsamples; use transposed convs or {upsample: N}, not pools")

    def build(self, code_dim: int, output_shape, encoder_cfg=None) -> "ConvDecoder":
        return ConvDecoder(self, code_dim, tuple(output_shape), encoder_cfg)


def _image_layers(layers: list[ConvLayer], channels: int) -> list[ConvLayer]:
    """The stack with `filters: channels` replaced by the image's channel count."""
    return [replace(layer, filters=channels) if layer.filters == IMAGE_CHANNELS else layer for layer in layers]


def _resolve_start(cfg: ConvDecoderConfig, layers: list[ConvLayer], output_shape,
                   encoder_cfg) -> tuple[int, int, int]:
    """[C, H, W] of the first feature map for this image shape (see ConvDecoderConfig)."""
    if cfg.start is not None and len(cfg.start) == 3:
        return tuple(cfg.start)
    encoder_out = None
    if isinstance(encoder_cfg, ConvEncoderConfig):
        try:
            encoder_out = conv_shapes(encoder_cfg.layers, output_shape)[-1]
        except ConfigError:
            encoder_out = None          # the encoder reports it when it is built
    channels = cfg.start[0] if cfg.start is not None else (encoder_out[0] if encoder_out else 64)
    if cfg.dense_output and encoder_out is not None:
        return channels, encoder_out[1], encoder_out[2]   # any size serves: mirror the encoder's map
    return (channels, *solve_start(layers, output_shape[1:], "model.decoder.layers"))


class ConvDecoder(Decoder):
    def __init__(self, cfg: ConvDecoderConfig, code_dim: int, output_shape, encoder_cfg=None):
        super().__init__()
        layers = _image_layers(cfg.layers, output_shape[0])
        self.output_shape, self.start = output_shape, _resolve_start(cfg, layers, output_shape, encoder_cfg)
        dense, width = mlp_layers(code_dim, list(cfg.dense), cfg.activation, cfg.slope, cfg.dropout, cfg.batch_norm)
        if cfg.project:
            dense += [Linear(width, math.prod(self.start)), make_activation(cfg.activation, cfg.slope)]
        elif width != math.prod(self.start):
            raise ConfigError(
                f"model.decoder.project: false needs a code of size {math.prod(self.start)} (start {list(self.start)}), "
                f"got {width}: set project: true or change start"
            )
        self.stem = nn.Sequential(*dense)
        try:
            self.convs, shape = build_stack(layers, self.start, cfg.activation, cfg.slope, cfg.dropout,
                                            cfg.batch_norm, raw_last=not cfg.dense_output)
        except ConfigError as err:
            raise ConfigError(f"model.decoder.{err}") from None
        if cfg.dense_output:
            self.head = nn.Sequential(nn.Flatten(), Linear(math.prod(shape), math.prod(output_shape)))
        elif shape != output_shape:
            raise ConfigError(
                f"model.decoder.layers: the stack turns {list(self.start)} into {list(shape)}, "
                f"not the image shape {list(output_shape)}: adjust start, strides or the last layer's filters"
            )
        else:
            self.head = nn.Identity()
        apply_init(self, cfg.init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.stem(z).view(z.shape[0], *self.start)
        return self.head(self.convs(h)).view(z.shape[0], *self.output_shape)
