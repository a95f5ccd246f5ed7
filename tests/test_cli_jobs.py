"""The job commands (aekit reconstruct, encode, ...) as a user runs them, on
runs trained briefly on real digits: outputs checked for content, and every
bad input one line on stderr, exit status 2, no traceback, nothing written.

Most run in-process through click's runner (the same `cli` group and its
error handling, without paying a Python start-up per command); two run the
real `python -m aekit` to check the process's own exit status and stderr."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

import aekit
from test_apps_support import digits_npz, held_out_images, trained_run
from helpers import aekit_cli, cli_ok as ok




def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def ae():
    return trained_run("fashion-ae")


@pytest.fixture(scope="module")
def npz():
    return digits_npz()


def test_reconstruct_a_dataset_split_and_a_folder_of_files(ae, npz, tmp_path):
    out = ok("reconstruct", ae, npz, "--split", "test", "-o", tmp_path / "rec", "-n", "6")
    for name in ("reconstruction.png", "errors.csv", "reconstructions.npy"):
        assert f"wrote {tmp_path / 'rec' / name}" in out
    model = aekit.load(ae)
    images = held_out_images()[0]
    errors = [float(r["squared_error"]) for r in _csv(tmp_path / "rec" / "errors.csv")]
    assert np.allclose(errors, model.anomaly_score(images), rtol=1e-5)
    assert f"mean squared error per image {np.mean(errors):.4f}" in out
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(images[i]).save(folder / f"{i}.png")
    ok("reconstruct", ae, folder, "-o", tmp_path / "files")
    rows = _csv(tmp_path / "files" / "errors.csv")
    assert [r["name"] for r in rows] == [str(folder / f"{i}.png") for i in range(4)]
    assert np.array_equal(np.load(tmp_path / "files" / "reconstructions.npy"),
                          np.load(tmp_path / "rec" / "reconstructions.npy")[:4])


def test_encode_then_decode_gives_the_reconstructions(ae, npz, tmp_path):
    ok("encode", ae, npz, "-o", tmp_path / "codes.npy")
    codes = np.load(tmp_path / "codes.npy")
    model = aekit.load(ae)
    images = held_out_images()[0]
    assert codes.shape == (300, 20) and np.allclose(codes, model.encode(images), atol=1e-6)
    out = ok("decode", ae, tmp_path / "codes.npy", "-o", tmp_path / "dec")
    assert "300 images decoded" in out
    decoded = np.load(tmp_path / "dec" / "images.npy")
    assert decoded.shape == (300, 1, 28, 28)
    assert np.abs(decoded.astype(int) - model.reconstruct(images[:, None]).astype(int)).max() <= 1


def test_denoise_prints_psnr_of_the_noisy_and_denoised_images(ae, npz, tmp_path):
    out = ok("denoise", ae, npz, "--noise", "saltpepper:0.2", "--seed", "3", "-o", tmp_path / "den")
    noisy, denoised = np.load(tmp_path / "den" / "noisy.npy"), np.load(tmp_path / "den" / "denoised.npy")
    clean = held_out_images()[0][:, None]
    changed = (noisy != clean).mean()
    assert 0.1 < changed <= 0.2   # 20% of pixels set to 0 or 255; some were that already
    def psnr(images):   # computed here from the saved files, as aekit.metrics.psnr defines it
        mse = ((images / 255.0 - clean / 255.0) ** 2).reshape(300, -1).mean(1)
        return float(np.mean(10 * np.log10(1 / (mse + 1e-10))))

    assert f"PSNR {psnr(noisy):.2f} dB noisy, {psnr(denoised):.2f} dB denoised" in out


@pytest.mark.parametrize("preset,source", [("fashion-ae", "fitted to the training images' codes"),
                                           ("vae-kingma", "N(0, I)"), ("aae", "adversarial prior")])
def test_sample_says_where_its_codes_come_from(preset, source, tmp_path):
    out = ok("sample", trained_run(preset), "-n", "9", "--seed", "1", "-o", tmp_path / "grid.png")
    assert source in out
    expected = aekit.load(trained_run(preset)).sample(9, seed=1)
    with Image.open(tmp_path / "grid.png") as png:
        grid = np.asarray(png)
    assert grid.shape == (3 * 58 + 2, 3 * 58 + 2)
    tile = grid[2:58:2, 2:58:2] / 255.0   # the first tile, every second pixel of the 2x enlargement
    assert np.abs(tile - expected[0, 0]).max() <= 0.5 / 255 + 1e-6


def test_interpolate_between_dataset_images_and_files(tmp_path):
    run = trained_run("vae-kingma")
    ok("interpolate", run, "dataset:0", "dataset:5", "--steps", "6", "--method", "slerp", "-o", tmp_path / "a.png")
    images = aekit.load(run).data.load().test.images
    Image.fromarray(images[0, 0].numpy()).save(tmp_path / "first.png")
    Image.fromarray(images[5, 0].numpy()).save(tmp_path / "last.png")
    ok("interpolate", run, tmp_path / "first.png", tmp_path / "last.png", "--steps", "6", "--method", "slerp",
       "-o", tmp_path / "b.png")
    a, b = np.asarray(Image.open(tmp_path / "a.png")), np.asarray(Image.open(tmp_path / "b.png"))
    assert a.shape == (58 + 2, 6 * 58 + 2) and np.array_equal(a, b)


def test_latent_map_of_2d_codes_draws_the_codes(tmp_path):
    run = trained_run("aae")
    out = ok("latent-map", run, "-o", tmp_path / "map.png")
    assert "the 2-d codes as they are" in out
    model = aekit.load(run)
    test = model.data.load().test
    rows = _csv(tmp_path / "map.csv")
    assert np.allclose([[float(r["x"]), float(r["y"])] for r in rows], model.encode(test.images).numpy())
    assert [int(r["label"]) for r in rows] == test.labels.tolist()
    ok("latent-map", trained_run("fashion-ae"), "--data", "digits-sample", "--method", "pca", "-o", tmp_path / "p.png")
    assert len(_csv(tmp_path / "p.csv")) == len(aekit.load_dataset("digits-sample").test)


def test_a_conv_model_runs_the_jobs_on_its_image_shape(tmp_path):
    run = trained_run("conv-ae-10")
    out = ok("manifold", run, "-n", "5", "-o", tmp_path / "m.png")
    assert "principal axes of the codes" in out
    with Image.open(tmp_path / "m.png") as png:
        assert png.size == (5 * 28, 5 * 28)
    ok("reconstruct", run, digits_npz(500), "-o", tmp_path / "rec")
    model = aekit.load(run)
    assert np.array_equal(np.load(tmp_path / "rec" / "reconstructions.npy"),
                          model.reconstruct(held_out_images(500)[0][:, None]))


def test_anomaly_flags_scores_above_the_threshold(ae, npz, tmp_path):
    out = ok("anomaly", ae, npz, "-o", tmp_path / "auto.csv")
    assert "the 0.99 quantile of the scores of 1350 images" in out
    assert f"wrote {tmp_path / 'auto.png'}" in out and (tmp_path / "auto.png").is_file()   # the picture beside it
    rows = _csv(tmp_path / "auto.csv")
    threshold = float(rows[0]["threshold"])
    assert all(int(r["anomalous"]) == (float(r["score"]) > threshold) for r in rows)
    ok("anomaly", ae, "fashion-mnist", "--threshold", f"{threshold}", "-o", tmp_path / "fashion.csv")
    flagged = np.mean([int(r["anomalous"]) for r in _csv(tmp_path / "fashion.csv")])
    assert flagged > 0.25 > np.mean([int(r["anomalous"]) for r in rows])


def test_info_reports_parts_data_and_last_metrics(tmp_path):
    about = yaml.safe_load(ok("info", trained_run("aae")))
    assert about["kind"] == "aae" and about["code_size"] == 2 and about["preset"] == "aae"
    assert about["parameters"]["total"] > about["parameters"]["used at inference"] > 0
    assert about["last_metrics"]["epoch"] == 10 and about["evaluation"] is None


def _bad_inputs(tmp_path, ae):
    small = tmp_path / "small.npy"
    np.save(small, np.zeros((3, 20, 20), np.uint8))
    scaled = tmp_path / "scaled.npy"
    np.save(scaled, np.full((3, 28, 28), 200.0, np.float32))
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((3, 28, 28), np.nan, np.float32))
    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 28, 28), np.uint8))
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((4, 7), np.float32))
    out = tmp_path / "out"
    return [
        (["reconstruct", ae, small, "-o", out], "the model reads 28x28 images, got 20x20"),
        (["reconstruct", ae, scaled, "-o", out], "outside the data range"),
        (["reconstruct", ae, nan, "-o", out], "NaN or infinite"),
        (["reconstruct", ae, empty, "-o", out], "empty batch"),
        (["reconstruct", ae, "no-such-data", "-o", out], "unknown dataset or path"),
        (["reconstruct", tmp_path / "no-run", "digits-sample", "-o", out], "not found"),
        (["reconstruct", ae, "digits-sample", "--split", "dev", "-o", out], "split 'dev' is unknown"),
        (["reconstruct", ae, "digits-sample", "-n", "0", "-o", out], "-n must be a positive number"),
        (["encode", ae, "digits-sample", "-o", out / "codes.txt"], "writes a .npy file"),
        (["decode", ae, wide, "-o", out], "expected [N, 20] or [20]; got shape [4, 7]"),
        (["decode", ae, tmp_path / "none.npy", "-o", out], "codes file"),
        (["denoise", ae, "digits-sample", "--noise", "blur:1", "-o", out], "unknown kind 'blur'"),
        (["denoise", ae, "digits-sample", "--noise", "gaussian", "-o", out], "expected KIND:LEVEL"),
        (["sample", ae, "-n", "0", "-o", out / "s.png"], "-n must be a positive number"),
        (["interpolate", ae, "dataset:0", "dataset:1", "--method", "cubic", "-o", out / "i.png"], "linear or slerp"),
        (["interpolate", ae, "dataset:0", "dataset:99999", "-o", out / "i.png"], "outside the"),
        (["interpolate", ae, "nothing.png", "dataset:1", "-o", out / "i.png"], "give an image file, or NAME:INDEX"),
        (["latent-map", ae, "--method", "isomap", "-o", out / "m.png"], "use one of pca, tsne, umap"),
        (["manifold", ae, "-n", "1", "-o", out / "m.png"], "at least 2"),
        (["anomaly", ae, "digits-sample", "--threshold", "high", "-o", out / "a.csv"], "give auto or a number"),
        (["info", tmp_path], "holds no model.safetensors"),
    ]


def test_every_bad_input_is_one_line_exit_2_and_writes_nothing(ae, tmp_path):
    for args, needle in _bad_inputs(tmp_path, ae):
        result = aekit_cli(*args)
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("aekit: error: ") and needle in lines[0], (args, lines[0])
        assert not (tmp_path / "out").exists(), args


def _process(*args):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.run([sys.executable, "-m", "aekit", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_the_real_command_exits_2_with_one_line_and_no_traceback(ae, tmp_path):
    np.save(tmp_path / "rgb.npy", np.zeros((2, 28, 28, 3), np.uint8))
    result = _process("reconstruct", ae, tmp_path / "rgb.npy", "-o", tmp_path / "out")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "aekit: error: images: the model reads 1-channel images, got 3 channels (shape [2, 28, 28, 3] read as "
        "NHWC); convert them to grey"]
    assert not (tmp_path / "out").exists()
    done = _process("sample", ae, "-n", "4", "-o", tmp_path / "s.png")
    assert done.returncode == 0 and f"wrote {tmp_path / 's.png'}" in done.stdout


def test_latent_map_of_a_folder_takes_its_class_subfolders_as_labels(ae, tmp_path):
    images, labels = held_out_images()
    for i in range(40):
        folder = tmp_path / "digits" / f"class-{labels[i]}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i]).save(folder / f"{i:03d}.png")
    ok("latent-map", ae, "--data", tmp_path / "digits", "-o", tmp_path / "map.png")
    rows = _csv(tmp_path / "map.csv")
    names = sorted({f"class-{d}" for d in labels[:40]})
    by_folder = sorted(range(40), key=lambda i: (f"class-{labels[i]}", f"{i:03d}"))   # the folder's order
    assert [names[int(r["label"])] for r in rows] == [f"class-{labels[i]}" for i in by_folder]
