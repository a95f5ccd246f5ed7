"""Max-pooling with padding 'same' (Keras's MaxPooling2D(padding='same')):
output ceil(n / stride), padded cells never win, checked against TF's
documented rule written out here by hand."""

import math

import pytest
import torch

from aekit.errors import ConfigError
from aekit.nn.conv import ConvEncoderConfig, ConvLayer, conv_shapes
from aekit.schema import from_dict


def tf_same_max_pool(x: torch.Tensor, window: int, stride: int) -> torch.Tensor:
    """TF: out = ceil(n / s); total padding max((out - 1) s + k - n, 0), half
    before (rounded down), the rest after; the max over each window's real cells."""
    n = x.shape[-1]
    out = math.ceil(n / stride)
    before = max((out - 1) * stride + window - n, 0) // 2
    y = torch.empty(*x.shape[:-2], out, out)
    for i in range(out):
        for j in range(out):
            r0, c0 = i * stride - before, j * stride - before
            rows = slice(max(r0, 0), min(r0 + window, n))
            cols = slice(max(c0, 0), min(c0 + window, n))
            y[..., i, j] = x[..., rows, cols].amax(dim=(-2, -1))
    return y


@pytest.mark.parametrize("size, window, stride", [(7, 2, 2), (8, 2, 2), (5, 3, 2), (7, 3, 1), (6, 3, 3)])
def test_same_pooling_follows_tf(size, window, stride):
    cfg = from_dict(ConvEncoderConfig, {"layers": [{"pool": window, "pool_stride": stride, "padding": "same"}]},
                    "model.encoder")
    encoder = cfg.build((2, size, size))
    x = torch.randn(3, 2, size, size) - 5.0   # all negative: a zero pad would win, -inf never does
    y = encoder.convs(x)
    expected = tf_same_max_pool(x, window, stride)
    assert conv_shapes(cfg.layers, (2, size, size))[-1] == (2, math.ceil(size / stride), math.ceil(size / stride))
    torch.testing.assert_close(y, expected)


def test_a_pool_takes_no_integer_padding():
    with pytest.raises(ConfigError, match="a pool's padding is 0 or 'same'"):
        from_dict(ConvLayer, {"pool": 2, "padding": 1}, "layer")
