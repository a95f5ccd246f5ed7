"""The .aek codec (aekit compress / decompress) on models trained briefly on
real digits (tests/test_apps_support.py: 1,350 training images of
digits-sample; 300 held-out test digits).

Bounds measured 2026-11-30 on the 2-core AMD EPYC Zen 4 VM (shared), with
OMP_NUM_THREADS=1, on the 300 held-out digits:

    fashion-ae (20-d code, 8 epochs)   bits  bytes/image  PSNR vs recon  vs original
                                         2      5.1          26.7 dB       13.80 dB
                                         4     11.2          40.7 dB       14.09 dB
                                         6     17.8          51.8 dB       14.10 dB
                                         8     25.7          60.0 dB       14.10 dB
    the model's own reconstruction: 14.10 dB; optimised PNG: 275.2 bytes/image
    vae-kingma (posterior means)         8     25.8          60.2 dB       14.48 dB (model 14.48)
    conv-ae-10 (2 epochs)                8     13.0          80.0 dB       11.53 dB (model 11.53)

"vs recon" is the codec's own loss: PSNR of the decompressed images against
the model's reconstruction from unquantised codes. The brief models are
blurry (14 dB), so the bound against the originals is the model's PSNR less
a stated codec loss, not an absolute quality.
"""

from __future__ import annotations

import copy
import json
import math
import struct
import zlib

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import aekit
from aekit.apps.codec import compress, decompress, dequantise, png_bytes, pixels_uint8, psnr_uint8
from aekit.apps.container import MAGIC, unpack
from aekit.apps.model import Model
from aekit.cli.main import cli
from aekit.errors import AekitError
from test_apps_support import digits_npz, held_out_images, trained_run

# Codec loss bounds, each ~10 dB under what was measured (module docstring).
MIN_PSNR_VS_RECON = {4: 30.0, 8: 50.0}
# At 8 bits the decompressed images are as close to the originals as the
# model's reconstruction, within this (measured: 0.0003 dB).
MAX_LOSS_VS_MODEL_DB_8BITS = 0.05
# .aek bytes per image at 8 bits over optimised PNG's (measured 25.7 / 275.2 = 0.093).
MAX_SIZE_VS_PNG = 0.2


@pytest.fixture(scope="module")
def ae():
    return aekit.load(trained_run("fashion-ae"))


@pytest.fixture(scope="module")
def digits():
    return held_out_images()[0]   # uint8 [300, 28, 28]


def _recon(model, pixels):
    """The model's own reconstruction of uint8 [N, C, H, W] images, as uint8."""
    out = model.reconstruct(pixels.astype(np.float32) / 255.0)
    return np.rint(np.clip(out, 0, 1) * 255).astype(np.uint8)


def _one_line_error(call, *words):
    with pytest.raises(AekitError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_round_trip_stays_within_the_stated_psnr_and_beats_png(ae, digits):
    pixels = pixels_uint8(ae, digits)
    recon = _recon(ae, pixels)
    data = compress(ae, digits, bits=8)
    images = decompress(ae, data)
    assert images.dtype == np.uint8 and images.shape == (300, 1, 28, 28)
    assert psnr_uint8(recon, images) >= MIN_PSNR_VS_RECON[8]
    assert psnr_uint8(pixels, images) >= psnr_uint8(pixels, recon) - MAX_LOSS_VS_MODEL_DB_8BITS
    # each decompressed digit is nearer its own original than the others on average
    err = ((images.reshape(300, 1, -1).astype(np.float64) - pixels.reshape(1, 300, -1)) ** 2).sum(-1)
    assert (np.diag(err) < err.mean(axis=1)).mean() > 0.9
    assert len(data) / 300 <= MAX_SIZE_VS_PNG * png_bytes(pixels) / 300
    assert compress(ae, digits, bits=8) == data   # the same images give the same bytes


def test_fewer_bits_trade_quality_for_size(ae, digits):
    pixels = pixels_uint8(ae, digits)
    recon = _recon(ae, pixels)
    sizes, quality = [], []
    for bits in (2, 4, 6, 8):
        data = compress(ae, pixels, bits)
        sizes.append(len(data))
        quality.append(psnr_uint8(recon, decompress(ae, data)))
    assert sizes == sorted(sizes) and len(set(sizes)) == 4, sizes
    assert quality == sorted(quality) and len(set(quality)) == 4, quality
    assert quality[1] >= MIN_PSNR_VS_RECON[4]


def test_the_file_follows_its_documented_layout_and_its_coder_reaches_the_entropy(ae, digits):
    data = compress(ae, digits, bits=6)
    magic, version, total = struct.unpack_from("<4sHQ", data)
    assert (magic, version, total) == (MAGIC, 1, len(data))
    assert data[14:46].hex() == ae.meta["weights_sha256"]   # the hash model.json records
    assert struct.unpack_from("<3HIHBB", data, 46)[:6] == (1, 28, 28, 300, 20, 6)
    assert struct.unpack_from("<I", data, len(data) - 4)[0] == zlib.crc32(data[:-4])
    box = unpack(data)
    # the quantiser: every code within half a step of its level
    codes = ae.encode(digits)
    symbols = np.rint((codes - box.lo) / np.where(box.step > 0, box.step, 1)).clip(0, 63)
    assert np.abs(dequantise(symbols, box.lo, box.step) - codes).max() <= box.step.max() / 2 * 1.001
    # ANS under the file's own histograms spends the empirical entropy, plus at most a few words
    p = box.counts / box.counts.sum(axis=1, keepdims=True)
    entropy_bits = -(box.counts * np.log2(np.where(p > 0, p, 1))).sum()
    assert entropy_bits <= len(box.payload) * 8 <= entropy_bits * 1.01 + 64


def test_another_model_and_damaged_files_are_refused_in_one_line(ae, digits):
    data = compress(ae, digits[:20], bits=8)
    other = copy.deepcopy(ae.autoencoder)
    with torch.no_grad():
        next(other.parameters())[0].add_(1e-3)   # the same architecture, other weights
    _one_line_error(lambda: decompress(Model(other), data), "another model", "weights hash")
    _one_line_error(lambda: decompress(ae, data[:-1]), "truncated")
    _one_line_error(lambda: decompress(ae, data[:30]), "truncated")
    _one_line_error(lambda: decompress(ae, data + b"\0"), "extra bytes")
    for at in (70, 100, len(data) - 5):   # the coder's name, the quantiser, the payload's end
        tampered = bytearray(data)
        tampered[at] ^= 0x10
        _one_line_error(lambda: decompress(ae, bytes(tampered)), "corrupted", "checksum")
    _one_line_error(lambda: decompress(ae, b"\x89PNG\r\n\x1a\n" + data[8:]), "not an .aek file")
    newer = bytearray(data[:-4])
    newer[4:6] = struct.pack("<H", 2)
    newer += struct.pack("<I", zlib.crc32(bytes(newer)))
    _one_line_error(lambda: decompress(ae, bytes(newer)), "version 2", "newer")
    _one_line_error(lambda: compress(ae, digits, bits=13), "bits", "1 to 12")
    _one_line_error(lambda: compress(ae, digits[:0], bits=8))


@pytest.mark.parametrize("name", ["vae-kingma", "conv-ae-10"])
def test_a_vae_and_a_conv_model_round_trip_as_well(name, digits):
    """A VAE is coded by its posterior means (nothing drawn); a conv model's codes the same way."""
    model = aekit.load(trained_run(name))
    pixels = pixels_uint8(model, digits)
    recon = _recon(model, pixels)   # the decoder's mean at the deterministic code
    images = decompress(model, compress(model, digits, bits=8))
    assert psnr_uint8(recon, images) >= MIN_PSNR_VS_RECON[8]
    assert psnr_uint8(pixels, images) >= psnr_uint8(pixels, recon) - MAX_LOSS_VS_MODEL_DB_8BITS
    assert np.array_equal(images, decompress(model, compress(model, digits, bits=8)))


def test_the_commands_compress_and_decompress(ae, tmp_path):
    run, npz = trained_run("fashion-ae"), digits_npz()
    runner = CliRunner()
    result = runner.invoke(cli, ["compress", str(run), str(npz), "-o", str(tmp_path / "d.aek"), "--bits", "8"])
    assert result.exit_code == 0, result.output
    for figure in ("bytes per image: aek", "PNG", "raw 784", "PSNR"):
        assert figure in result.stdout
    psnr = float(result.stdout.split("PSNR: ")[1].split(" dB")[0])
    pixels = pixels_uint8(ae, held_out_images()[0])
    expected = decompress(ae, (tmp_path / "d.aek").read_bytes())
    assert math.isclose(psnr, psnr_uint8(pixels, expected), abs_tol=0.01)

    result = runner.invoke(cli, ["decompress", str(tmp_path / "d.aek"), str(run), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert np.array_equal(np.load(tmp_path / "out" / "images.npy"), expected)
    assert (tmp_path / "out" / "grid.png").stat().st_size > 0

    vae_run = trained_run("vae-kingma")
    result = runner.invoke(cli, ["decompress", str(tmp_path / "d.aek"), str(vae_run), "-o", str(tmp_path / "v")])
    assert result.exit_code == 2 and "another model" in result.stderr and not (tmp_path / "v").exists()
    result = runner.invoke(cli, ["compress", str(run), str(npz), "-o", str(tmp_path / "d.png")])
    assert result.exit_code == 2 and ".aek" in result.stderr and not (tmp_path / "d.png").exists()
    meta = json.loads((run / "model.json").read_text())
    assert (tmp_path / "d.aek").read_bytes()[14:46].hex() == meta["weights_sha256"]


def test_a_payload_altered_behind_a_recomputed_checksum_is_still_refused(ae, digits):
    """The CRC can be forged; the payload's own framing must still hold."""
    data = compress(ae, digits[:50], bits=8)
    start = len(data) - 4 - len(unpack(data).payload)
    for altered in (data[:start] + bytes(len(data) - 4 - start),                        # all zero words
                    data[:start + 3] + bytes([data[start + 3] ^ 0xFF]) + data[start + 4:-4]):  # one byte
        body = altered[:len(data) - 4]
        _one_line_error(lambda: decompress(ae, body + struct.pack("<I", zlib.crc32(body))), "payload")


def test_one_image_is_its_own_range_and_comes_back_as_the_model_reconstructs_it(ae, digits):
    """One image: every dimension is constant (step 0), so its code is stored exactly."""
    data = compress(ae, digits[3], bits=4)
    box = unpack(data)
    assert box.count == 1 and (box.step == 0).all()
    np.testing.assert_array_equal(box.lo, ae.encode(digits[3]))   # one image in, one code [D] out
    pixels = pixels_uint8(ae, digits[3:4])
    assert psnr_uint8(_recon(ae, pixels), decompress(ae, data)) >= 60.0   # at most a rounding step apart
