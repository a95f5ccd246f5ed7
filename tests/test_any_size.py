"""Any image size and channel count (issue #12): the conv presets build for the
data's shape, learn on RGB folders of 32x32 and 64x64 digits, and every job
runs on such a run; a folder memory-mapped trains exactly as in memory, with
memory bounded by the batch, and a damaged map cache is decoded again; a size
a stack cannot make is one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import aekit
from aekit.cli.main import cli
from aekit.data.memmap import is_mapped
from rgb_folders import rgb_folder, tinted_digits
from helpers import cli_ok as ok

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("rgb")
    return {32: rgb_folder(root / "32", 300, 32), 64: rgb_folder(root / "64", 150, 64),
            "32-few": rgb_folder(root / "32-few", 100, 32)}


def train(preset, folder, out, epochs, *sets):
    return aekit.train(preset, data=str(folder), epochs=epochs, seed=0, device="cpu", out=out,
                       sets=["train.threads=1", *sets])


@pytest.fixture(scope="module")
def runs(folders, module_cache_dir, tmp_path_factory):
    """conv-ae on each size, trained from the memory map (so every job below
    also reads a mapped run's data)."""
    root = tmp_path_factory.mktemp("runs")
    return {size: train("conv-ae", folders[size], root / f"conv-ae-{size}", 6, "data.memmap=always")
            for size in (32, 64)}




def test_conv_ae_learns_rgb_32_and_64_from_the_memory_map(runs):
    for size, run in runs.items():
        assert run.dataset.image_shape == (3, size, size) and run.model.input_shape == (3, size, size)
        first, last = run.history[0]["val_loss"], run.history[-1]["val_loss"]
        # Measured (2-core AMD EPYC, 2026-11-30), val_loss over the 6 epochs: 32x32 (270
        # training images) 1459 -> 974 (0.67 of the first), 64x64 (135) 5307 -> 3700 (0.70).
        assert last < 0.8 * first, (size, first, last)


# vae-conv at 32x32 only: its dense output layer grows with the image's pixels
# squared (50M weights at 3x32x32, 805M at 3x64x64; see docs/own-images.md).
# Measured (2-core AMD EPYC, 2026-11-30), val_loss first -> last epoch: vae-conv
# 257 -> 150 (0.58), dense-ae-25-elu 3927 -> 618 (0.16).
@pytest.mark.parametrize("preset,size,epochs,ratio", [("vae-conv", "32-few", 2, 0.75),
                                                      ("dense-ae-25-elu", 64, 15, 0.3)])
def test_vae_conv_and_an_mlp_preset_learn_rgb(preset, size, epochs, ratio, folders, module_cache_dir, tmp_path):
    run = train(preset, folders[size], tmp_path / preset, epochs)
    assert run.model.input_shape == ((3, 32, 32) if size == "32-few" else (3, 64, 64))
    first, last = run.history[0]["val_loss"], run.history[-1]["val_loss"]
    assert last < ratio * first, (preset, first, last)


def test_memory_map_trains_exactly_as_in_memory(folders, module_cache_dir, tmp_path):
    runs = {mode: train("dense-ae-32", folders[32], tmp_path / mode, 2, f"data.memmap={mode}")
            for mode in ("never", "always")}
    mapped = runs["always"].dataset
    assert is_mapped(mapped.train.images) and not is_mapped(runs["never"].dataset.train.images)
    for split in ("train", "val", "test"):
        assert np.array_equal(getattr(mapped, split).images, getattr(runs["never"].dataset, split).images)
    losses = {mode: [(h["train_loss"], h["val_loss"]) for h in run.history] for mode, run in runs.items()}
    assert losses["always"] == losses["never"]


def test_memory_map_is_made_once_and_again_when_the_folder_changes(folders, module_cache_dir, tmp_path):
    from aekit.data import load_dataset

    folder = rgb_folder(tmp_path / "few", 12, 32)
    first = load_dataset(str(folder), memmap="always")
    made = set((module_cache_dir / "folders").iterdir())
    again = load_dataset(str(folder), memmap="always")
    assert set((module_cache_dir / "folders").iterdir()) == made and np.array_equal(first.train.images, again.train.images)
    Image.fromarray(tinted_digits(1, 32, seed=5)[0]).save(folder / "00000.png")   # one image changed
    changed = load_dataset(str(folder), memmap="always")
    assert len(set((module_cache_dir / "folders").iterdir()) - made) == 1
    in_memory = load_dataset(str(folder), memmap="never")
    assert np.array_equal(changed.train.images, in_memory.train.images)
    assert not np.array_equal(changed.train.images, first.train.images) or \
        not np.array_equal(changed.test.images, first.test.images)


def test_a_damaged_memory_map_cache_is_decoded_again(module_cache_dir, tmp_path, capsys):
    from aekit.data import load_dataset

    folder = rgb_folder(tmp_path / "damaged", 12, 32)
    before = set((module_cache_dir / "folders").glob("*")) if (module_cache_dir / "folders").exists() else set()
    whole = load_dataset(str(folder), memmap="always")
    (made,) = set((module_cache_dir / "folders").glob("*")) - before
    expected = {split: getattr(whole, split).images.clone() for split in ("train", "val", "test")}
    del whole
    for damage in ("cut", "deleted", "rewritten"):
        train = made / "train.npy"
        if damage == "cut":
            with open(train, "r+b") as f:
                f.truncate(train.stat().st_size - 100)
        elif damage == "deleted":
            (made / "val.npy").unlink()
        else:   # the header rewritten in place, the size kept: one row fewer
            data = train.read_bytes()
            rows = len(expected["train"])
            old, new = f"({rows},".encode(), f"({str(rows - 1).ljust(len(str(rows)))},".encode()
            train.write_bytes(data.replace(old, new, 1))
        again = load_dataset(str(folder), memmap="always")
        (warning,) = capsys.readouterr().err.splitlines()
        assert warning.startswith("aekit: warning: the memory-map cache") and f"decoding {folder} again" in warning
        for split, images in expected.items():
            assert is_mapped(getattr(again, split).images) and np.array_equal(getattr(again, split).images, images)
        del again

    # A build folder left by a killed process goes once untouched for an hour; a recent one may be live.
    stale, live = module_cache_dir / "folders" / "0123.tmp-dead", module_cache_dir / "folders" / "4567.tmp-busy"
    for tmp, age in ((stale, 2 * 3600), (live, 60)):
        tmp.mkdir()
        (tmp / "train.npy").write_bytes(b"half")
        for path in (tmp / "train.npy", tmp):
            os.utime(path, (time.time() - age, time.time() - age))
    load_dataset(str(folder), memmap="always")
    assert not stale.exists() and live.exists()
    shutil.rmtree(live)


@pytest.mark.parametrize("how", ["map", "load"])
def test_memory_stays_bounded_by_the_batch_not_the_data(how, tmp_path):
    # 5,000 tinted 64x64 RGB digits (58.6 MiB) memory-mapped ("map", where
    # train.bounded_malloc is on by default) or read into memory first ("load",
    # with train.bounded_malloc=true); one epoch of dense-ae-32 at batch 128.
    # Measured (2-core AMD EPYC, 2026-11-30): the peak rose 13 to 32 MiB over
    # the epoch either way (batch working memory), and 62 MiB once every page
    # of the map was read. In memory with glibc's own mmap threshold (the
    # in-memory default) it rose 265 to 445 MiB, its heaps growing step by step.
    tiles = tinted_digits(500, 64)
    data = np.ascontiguousarray(np.concatenate([np.roll(tiles, k, axis=0) for k in range(10)]).transpose(0, 3, 1, 2))
    np.save(tmp_path / "big.npy", data)
    size = data.nbytes / 2**20
    out = subprocess.run([sys.executable, str(HERE / "memmap_rss.py"), str(tmp_path / "big.npy"), how,
                          "true" if how == "load" else "null"],
                         capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert out.returncode == 0, out.stderr
    trained, touched, _ = out.stdout.split()
    assert int(trained) < 45 < size, (trained, size)
    if how == "map":
        assert int(touched) > 0.8 * size    # the measure does see the map's pages once they are all read


def test_a_size_the_stack_cannot_make_is_one_line(tmp_path):
    folder = rgb_folder(tmp_path / "30", 8, 30)
    out = CliRunner().invoke(cli, ["train", "--preset", "conv-ae", "--data", str(folder), "--epochs", "1",
                                   "--out", str(tmp_path / "run")])
    assert out.exit_code == 2
    assert out.stderr.strip().splitlines() == [
        "aekit: error: model.decoder.layers: this stack cannot end at the image size 30x30; near it, it makes "
        "20, 24, 28, 32, 36, 40: resize the images to such a size (e.g. --set data.image_size=[28,28]) "
        "or change the strides"]
    assert not (tmp_path / "run").exists()


def test_a_model_too_large_for_its_images_is_one_line(folders, tmp_path):
    # vae-conv and beta-vae at 3x64x64: 805,854,056 parameters (counted on the meta
    # device), 12.9 GB to train with Adam: refused before a weight is allocated.
    for preset in ("vae-conv", "beta-vae"):
        out = CliRunner().invoke(cli, ["train", "--preset", preset, "--data", str(folders[64]), "--epochs", "1",
                                       "--out", str(tmp_path / preset)])
        assert out.exit_code == 2, out.output
        (line,) = out.stderr.strip().splitlines()
        assert "model: 806M parameters for 3x64x64 images (12.9 GB to train with Adam), above aekit's limit " \
               "of 100M" in line and "use conv-ae or conv-ae-10" in line, line
        assert not (tmp_path / preset).exists()


def _png(path) -> tuple[str, tuple[int, int]]:
    with Image.open(path) as im:
        return im.mode, im.size


def test_the_image_jobs_give_64x64_rgb(runs, folders, tmp_path):
    run, data, out = runs[64].dir, folders[64], tmp_path
    ok("reconstruct", run, data, "-o", out / "rec", "-n", "4")
    assert np.load(out / "rec" / "reconstructions.npy").shape == (150, 3, 64, 64)
    ok("sample", run, "-n", "4", "-o", out / "sample.png")
    ok("manifold", run, "-n", "3", "-o", out / "manifold.png")
    assert _png(out / "sample.png")[0] == "RGB" and _png(out / "manifold.png") == ("RGB", (192, 192))


def test_every_job_runs_on_an_rgb_run(runs, folders, tmp_path):
    size = 32
    run, data, out = runs[size].dir, folders[size], tmp_path
    shape = (3, size, size)
    ok("reconstruct", run, data, "-o", out / "rec", "-n", "4")
    assert np.load(out / "rec" / "reconstructions.npy").shape[1:] == shape
    ok("encode", run, data, "-o", out / "codes.npy")
    codes = np.load(out / "codes.npy")
    assert codes.shape == (len(list(data.glob("*.png"))), 32)
    ok("decode", run, out / "codes.npy", "-o", out / "dec")
    decoded = np.load(out / "dec" / "images.npy")
    assert decoded.shape == (len(codes), *shape) and _png(out / "dec" / "grid.png")[0] == "RGB"
    ok("denoise", run, data, "--noise", "gaussian:0.2", "-o", out / "den", "-n", "4")
    assert np.load(out / "den" / "denoised.npy").shape[1:] == shape
    ok("sample", run, "-n", "4", "-o", out / "sample.png")
    ok("interpolate", run, data / "00000.png", data / "00001.png", "--steps", "5", "-o", out / "interp.png")
    ok("manifold", run, "-n", "3", "-o", out / "manifold.png")
    assert _png(out / "manifold.png") == ("RGB", (3 * size, 3 * size))
    for png in ("sample.png", "interp.png"):
        assert _png(out / png)[0] == "RGB", png
    ok("latent-map", run, "-o", out / "map.png")
    assert (out / "map.csv").stat().st_size > 0
    ok("anomaly", run, data, "-o", out / "anomaly.csv")
    assert len((out / "anomaly.csv").read_text().splitlines()) == len(codes) + 1
    ok("compress", run, data, "-o", out / "c.aek")
    ok("decompress", out / "c.aek", run, "-o", out / "dc")
    restored = np.load(out / "dc" / "images.npy")
    assert restored.shape == decoded.shape and np.abs(restored.astype(int) - decoded.astype(int)).mean() < 8
    ok("export", run, "--onnx", out / "onnx")
    import onnxruntime

    decoder = onnxruntime.InferenceSession(str(out / "onnx" / "decoder.onnx"))
    assert decoder.run(None, {decoder.get_inputs()[0].name: codes[:2]})[0].shape == (2, *shape)


# Every preset's parameter count at 1x28x28 before conv decoders derived their
# shapes from the data (commit 77f2f55): the 28x28 models must stay the same.
COUNTS_28 = {"aae": 1135123, "ae-2d": 67707, "beta-vae": 10151489, "conv-ae-10": 95939, "conv-ae": 115217,
             "dae": 473636, "deep-ae-3d": 219891, "dense-ae-25-elu": 40009, "dense-ae-32": 50992,
             "dropout-ae": 473636, "fashion-ae": 473636, "sparse-ae": 1607440, "vae-conv": 10151489,
             "vae-kingma": 652824, "vae-mlp": 437540,
             # added after that commit, at their Keras originals' sizes
             "keras-conv-ae": 4385, "keras-deep-ae": 222384,
             "iwae-mnist": 1361884}   # 784-500-500-(50, 50), 50-500-500-784, by hand


def test_every_preset_keeps_its_28x28_model_and_builds_for_rgb():
    from aekit.models.autoencoder import Autoencoder
    from aekit.models.config import ModelConfig
    from aekit.models.presets import get_preset, preset_names
    from aekit.schema import from_dict

    def count(name, shape):
        raw = {**get_preset(name)["model"], "input_shape": list(shape)}
        return sum(p.numel() for p in Autoencoder(from_dict(ModelConfig, raw, "model")).parameters())

    assert sorted(preset_names()) == sorted(COUNTS_28)
    assert {name: count(name, (1, 28, 28)) for name in COUNTS_28} == COUNTS_28
    for name in COUNTS_28:
        if name not in ("vae-conv", "beta-vae", "keras-conv-ae"):    # 806M weights at 3x64x64: refused (test above)
            assert count(name, (3, 64, 64)) > count(name, (1, 28, 28)), name
    # keras-conv-ae's code is its encoder's feature map itself (4x4x8 = 128 at 28x28, as the
    # Keras original), so its code size pins the image size: 64x64 is refused in one line.
    from aekit.errors import ConfigError

    with pytest.raises(ConfigError, match="linear: false needs dim equal to the encoder's 512 features"):
        count("keras-conv-ae", (3, 64, 64))
