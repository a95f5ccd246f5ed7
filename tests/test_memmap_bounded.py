"""Memory bounded by the batch, not the data (issue #12), through the real
commands: `aekit train` and `aekit evaluate` on a memory-mapped .npy run
under RLIMIT_DATA (which counts a process's private writable and anonymous
memory, never a read-only shared file map: see aekit.data.memmap.map_npy),
with the same limit refusing the in-memory path; .npy splits mapped give the
losses of the in-memory ones; a class filter keeps a mapped split mapped."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import aekit
from aekit.cli.main import cli
from aekit.data import load_dataset
from aekit.data.memmap import is_mapped, map_source
from click.testing import CliRunner
from rgb_folders import tinted_digits

HEADROOM = 160 << 20     # bytes of RLIMIT_DATA above what the command needs on a tiny data set
BIG_IMAGES = 24_576      # 64x64 RGB: 288 MiB, 1.8 x the headroom
TINY_IMAGES = 512        # four batches: every per-batch buffer is in the baseline


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    """big.npy (BIG_IMAGES tinted 64x64 RGB digits, NCHW uint8, written 500 at
    a time) and tiny.npy (its first TINY_IMAGES)."""
    root = tmp_path_factory.mktemp("arrays")
    tiles = tinted_digits(500, 64).transpose(0, 3, 1, 2)
    big = np.lib.format.open_memmap(root / "big.npy", mode="w+", dtype=np.uint8, shape=(BIG_IMAGES, 3, 64, 64))
    for start in range(0, BIG_IMAGES, len(tiles)):
        stop = min(start + len(tiles), BIG_IMAGES)
        big[start:stop] = np.roll(tiles, start // len(tiles), axis=0)[:stop - start]
    big.flush()
    np.save(root / "tiny.npy", np.ascontiguousarray(big[:TINY_IMAGES]))
    del big
    return root


def run_limited(args: list[str], limit: int | None = None) -> tuple[subprocess.CompletedProcess, int]:
    """`python -m aekit ARGS` (under RLIMIT_DATA `limit`), and the peak of its
    VmData (what RLIMIT_DATA counts), sampled every 5 ms."""
    def limited():
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "aekit", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=limited if limit else None)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, vm_data(proc.pid))
        time.sleep(0.005)
    out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), peak


def vm_data(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmData"))
    except (OSError, StopIteration):
        return 0


def train_args(data: Path, out: Path, memmap: str) -> list[str]:
    return ["train", "--preset", "dense-ae-25-elu", "--data", str(data), "--epochs", "1", "--out", str(out),
            "--set", f"data.memmap={memmap}", "--set", "train.threads=1", "--set", "train.grid_every=0"]


@pytest.fixture(scope="module")
def limited(arrays, module_cache_dir, tmp_path_factory):
    """The tiny run (no limit: its VmData peak is the baseline), then the big
    mapped run and the big in-memory run, both under baseline + HEADROOM."""
    root = tmp_path_factory.mktemp("limited")
    tiny, baseline = run_limited(train_args(arrays / "tiny.npy", root / "tiny", "always"))
    assert tiny.returncode == 0, tiny.stderr
    limit = baseline + HEADROOM
    mapped, mapped_peak = run_limited(train_args(arrays / "big.npy", root / "mapped", "always"), limit)
    in_memory, _ = run_limited(train_args(arrays / "big.npy", root / "in-memory", "never"), limit)
    print(f"baseline VmData {baseline >> 20} MiB, mapped run's peak {mapped_peak >> 20} MiB, "
          f"limit {limit >> 20} MiB")
    return {"root": root, "limit": limit, "baseline": baseline, "tiny": tiny, "mapped": mapped,
            "mapped_peak": mapped_peak, "in_memory": in_memory}


def history(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_aekit_train_from_a_map_needs_no_more_memory_than_a_tiny_run(limited, arrays):
    big = (arrays / "big.npy").stat().st_size
    assert big > 1.75 * HEADROOM
    assert limited["mapped"].returncode == 0, limited["mapped"].stderr
    # Measured (2-core AMD EPYC, 2026-11-30, load 7-8, two runs): baseline VmData 443 / 429 MiB; the
    # mapped run's peak 57 / 74 MiB above it (a review measured 97 before the conversion's chunk was
    # bounded), with 288 MiB of images: the limit leaves 86-103 MiB spare and is well under the data.
    assert limited["mapped_peak"] < limited["limit"]
    (epoch,) = history(limited["root"] / "mapped")
    # Training from the map turned the bounded malloc on (train.bounded_malloc null), and the run records it.
    meta = json.loads((limited["root"] / "mapped" / "checkpoint" / "last.json").read_text())
    assert meta["bounded_malloc"] == {"on": True, "mallopt": True}
    (tiny,) = history(limited["root"] / "tiny")
    # The loss fell: one epoch on 19,907 images ends far below 13 steps on 414
    # of the same digits (measured: val_loss 370.7 against 3190.9, 0.12).
    assert epoch["epoch"] == 1 and epoch["val_loss"] < 0.25 * tiny["val_loss"], (epoch, tiny)
    # The same limit stops the same command reading the images into memory, in one line.
    failed = limited["in_memory"]
    assert failed.returncode != 0
    (line,) = failed.stderr.strip().splitlines()
    assert "not enough memory to read" in line and "data.memmap=always" in line, failed.stderr[-2000:]


def test_aekit_evaluate_on_a_mapped_run_stays_within_the_limit(limited):
    run = limited["root"] / "mapped"
    assert limited["mapped"].returncode == 0, limited["mapped"].stderr
    out, peak = run_limited(["evaluate", str(run)], limited["limit"])
    assert out.returncode == 0, out.stderr
    record = json.loads((run / "evaluation.json").read_text())
    # PCA fitted on a seeded sample of the mapped training split: 32 MiB of
    # float64 pixels, 341 images of 3x64x64 (in memory, PCA-25's covariance
    # alone would be 1.2 GB and all 19,907 training images 1.9 GB of floats).
    reconstruction = record["reconstruction"]
    assert reconstruction["pca"]["fit_images"] == 341
    # Every test image went through the model: its error is the run's last
    # validation loss on other images of the same digits (measured: sse 369.3,
    # val_loss 370.7); the sampled PCA-25 reconstructs held-out images well
    # (measured 23.4 dB; the mean image alone gives 15.1 dB on these digits).
    (epoch,) = history(run)
    assert abs(reconstruction["model"]["sse"] / epoch["val_loss"] - 1) < 0.05, (reconstruction, epoch)
    assert reconstruction["pca"]["psnr_db"] > 20, reconstruction
    assert peak < limited["limit"]


def test_npy_mapped_trains_exactly_as_in_memory(module_cache_dir, tmp_path, monkeypatch):
    np.save(tmp_path / "digits.npy", tinted_digits(300, 32))   # NHWC: converted chunk by chunk into the maps
    runs = {mode: aekit.train("dense-ae-32", data=str(tmp_path / "digits.npy"), epochs=2, seed=0, device="cpu",
                              out=tmp_path / mode, sets=["train.threads=1", f"data.memmap={mode}"])
            for mode in ("never", "always")}
    mapped, in_memory = runs["always"].dataset, runs["never"].dataset
    for split in ("train", "val", "test"):
        assert is_mapped(getattr(mapped, split).images) and not is_mapped(getattr(in_memory, split).images)
        assert np.array_equal(getattr(mapped, split).images, getattr(in_memory, split).images)
    losses = {mode: [(h["train_loss"], h["val_loss"]) for h in run.history] for mode, run in runs.items()}
    assert losses["always"] == losses["never"]
    # auto maps an .npy by its header's size against the RAM (here: any size at all).
    assert not is_mapped(load_dataset(str(tmp_path / "digits.npy"), memmap="auto").train.images)
    monkeypatch.setattr("aekit.data.mapped.AUTO_FRACTION", 0.0)
    assert is_mapped(load_dataset(str(tmp_path / "digits.npy"), memmap="auto").train.images)


def test_an_npz_cannot_be_mapped_and_says_so(module_cache_dir, tmp_path):
    np.savez_compressed(tmp_path / "digits.npz", images=tinted_digits(20, 16))
    result = CliRunner().invoke(cli, ["train", "--preset", "dense-ae-32", "--data", str(tmp_path / "digits.npz"),
                                      "--epochs", "1", "--out", str(tmp_path / "run"), "--set", "data.memmap=always"])
    assert result.exit_code != 0
    (line,) = [l for l in result.output.splitlines() if l.strip()]
    assert "cannot be memory-mapped" in line and "numpy.save" in line and "data.memmap" in line
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def class_folder(tmp_path_factory):
    """240 tinted 32x32 digits of all ten classes, in class subfolders."""
    root = tmp_path_factory.mktemp("classes") / "folder"
    digits = load_dataset("digits-sample", val_fraction=0.0).train
    images, labels = tinted_digits(240, 32, stride=20), digits.labels[::20][:240].tolist()
    for i, (image, label) in enumerate(zip(images, labels)):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image, "RGB").save(root / str(label) / f"{i:04d}.png")
    return root


@pytest.mark.parametrize("option", ["only_classes", "exclude_classes"])
def test_a_class_filter_keeps_a_mapped_split_mapped(option, class_folder, module_cache_dir):
    kw = {option: ["3", "7"]}
    mapped = load_dataset(str(class_folder), memmap="always", **kw)
    in_memory = load_dataset(str(class_folder), memmap="never", **kw)
    for split in ("train", "val"):
        m, r = getattr(mapped, split), getattr(in_memory, split)
        assert is_mapped(m.images) and np.array_equal(m.images, r.images) and np.array_equal(m.labels, r.labels)
    kept = set(mapped.train.labels.tolist())
    assert kept == ({3, 7} if option == "only_classes" else set(range(10)) - {3, 7})
    again = load_dataset(str(class_folder), memmap="always", **kw)   # the filtered map is made once
    assert map_source(again.train.images).filename == map_source(mapped.train.images).filename


def test_evaluate_samples_pca_and_probes_of_a_mapped_split_only(class_folder, module_cache_dir, tmp_path, monkeypatch):
    # Budgets cut to 60 and 10 images of 3x32x32, so that the 144 training and
    # 20 test images (class 3 left out of training) exceed them.
    monkeypatch.setattr("aekit.evaluation.reconstruction.MAPPED_FIT_BYTES", 8 * 3072 * 60)
    monkeypatch.setattr("aekit.evaluation.labelled.MAPPED_PROBE_BYTES", 8 * 3072 * 10)
    records = {}
    for mode in ("always", "never"):
        run = aekit.train("dense-ae-32", data=str(class_folder), epochs=1, seed=0, device="cpu", out=tmp_path / mode,
                          sets=["train.threads=1", f"data.memmap={mode}"], exclude_classes=["3"])
        records[mode] = (run, aekit.evaluate(tmp_path / mode))
    (mapped_run, mapped), (memory_run, memory) = records["always"], records["never"]
    assert is_mapped(mapped_run.dataset.train.images) and not is_mapped(memory_run.dataset.train.images)
    n_train, n_test = len(memory_run.dataset.train), len(memory_run.dataset.test)
    assert n_train > 60 and n_test > 10
    assert mapped["reconstruction"]["pca"]["fit_images"] == 60
    assert memory["reconstruction"]["pca"]["fit_images"] == n_train
    assert (mapped["code_quality"]["train_images"], mapped["code_quality"]["test_images"]) == (10, 10)
    assert (memory["code_quality"]["train_images"], memory["code_quality"]["test_images"]) == (n_train, n_test)
    # The model's own figures and the anomaly scores (the excluded class) read every test image either way.
    assert mapped["reconstruction"]["model"] == memory["reconstruction"]["model"]
    assert mapped["anomaly"]["reconstruction"] == memory["anomaly"]["reconstruction"]
    assert mapped["anomaly"]["anomaly_class"] == 3
