"""The corpus of bad inputs (issue #14): one row per case, run by
tests/test_bad_inputs.py, which checks every property for each: a non-zero
exit (or an AekitError from the Python API), exactly one line on stderr in
aekit's `aekit: error: ...` form holding the expected phrases (for every case
the problem and a phrase of its fix), no traceback, and every file and folder
in the case's folder as it was (nothing written, nothing half-written,
nothing damaged, no empty folder left).

A case's `argv` (CLI) or `api` (Python) may name these placeholders, set up
lazily by `Env`: {tmp} the case's folder; {run} a copy of a briefly trained
fashion-ae run folder (tests/test_apps_support.py); {digits} a .npz of real
digits; and any file a case's `setup` writes under {tmp}.

Cases covered elsewhere, not repeated here:
    data loaders (IDX magic, truncated/damaged gzip, bad .amat line, unreadable
    image, mixed sizes, .npy dtype/shape/range, offline and missing files):
                                            tests/test_data_errors.py
    model files (pickle given as a model, missing/extra/mis-shaped tensors,
    another architecture, flipped weight byte, content hash): tests/test_model_file_errors.py
    .aek files (truncated, tampered, extra bytes, other model, newer version):
                                            tests/test_codec.py
    download mirrors dead, 404, corrupt:    tests/test_data_download.py
    an existing run folder, --resume with changed flags: tests/test_cli.py
"""

from __future__ import annotations

import json
import pickle
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Callable

import numpy as np


@dataclass
class Env:
    """A case's world: its own folder, and what it needs, made on first use."""
    tmp: Path
    trained_run: Callable[[], Path]
    digits_npz: Callable[[], Path]

    @cached_property
    def run(self) -> Path:
        copy = self.tmp / "run"
        shutil.copytree(self.trained_run(), copy)
        return copy

    @cached_property
    def digits(self) -> Path:
        return self.digits_npz()

    def fill(self, text: str) -> str:
        """`text` with {run}, {digits}, {tmp} replaced (made only when named)."""
        for name in ("run", "digits", "tmp"):
            if "{" + name + "}" in text:
                text = text.replace("{" + name + "}", str(getattr(self, name)))
        return text


@dataclass(frozen=True)
class Case:
    name: str
    expect: tuple[str, ...]                          # phrases the one error line must hold
    argv: tuple[str, ...] = ()                       # `aekit ARGV`, placeholders filled
    api: Callable[[Env], object] | None = None       # or a Python API call that must raise AekitError
    setup: Callable[[Env], None] | None = None       # files the case needs, written before the snapshot
    subprocess: bool = False                         # run `python -m aekit` for real (the true exit path)
    patch: str | None = None                         # a fault to inject in-process (test_bad_inputs.FAULTS)


# ---- set-ups -------------------------------------------------------------------------------------------

def write(relative: str, data: bytes | str) -> Callable[[Env], None]:
    def setup(env: Env) -> None:
        path = env.tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(env.fill(data).encode() if isinstance(data, str) else data)
    return setup


def npy(relative: str, array: np.ndarray) -> Callable[[Env], None]:
    def setup(env: Env) -> None:
        np.save(env.tmp / relative, array)
    return setup


def in_run(change: Callable[[Path], None]) -> Callable[[Env], None]:
    """Damage the copy of the trained run."""
    return lambda env: change(env.run)


def truncate(relative: str, keep: float = 0.5) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        path = run / relative
        path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)])
    return change


def last_checkpoint(run: Path) -> Path:
    return run / "checkpoint" / json.loads((run / "checkpoint" / "last.json").read_text())["tensors"]


def truncate_checkpoint(run: Path) -> None:
    path = last_checkpoint(run)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def checkpoint_of_another_config(run: Path) -> None:
    """The run's config.yaml changed to another code size: its checkpoint is now of another model."""
    import yaml

    config = yaml.safe_load((run / "config.yaml").read_text())
    config["model"]["bottleneck"]["dim"] = 5
    (run / "config.yaml").write_text(yaml.safe_dump(config))


def edit_json(relative: str, edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        path = run / relative
        meta = json.loads(path.read_text())
        edit(meta)
        path.write_text(json.dumps(meta))
    return change


def newer_format(meta: dict) -> None:
    meta["version"], meta["aekit_version"] = 99, "9.0.0"


def a_pickle(env: Env) -> None:
    (env.tmp / "model.pt").write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))


def an_aek(damage: Callable[[bytes], bytes]) -> Callable[[Env], None]:
    """A real .aek of 5 digits compressed with the run's model, then damaged."""
    def setup(env: Env) -> None:
        import aekit
        from aekit.apps.codec import compress

        with np.load(env.digits) as archive:
            images = archive["x_test"][:5]
        (env.tmp / "x.aek").write_bytes(damage(compress(aekit.load(env.run), images, bits=8)))
    return setup


def flip(at: int) -> Callable[[bytes], bytes]:
    def damage(data: bytes) -> bytes:
        out = bytearray(data)
        out[at] ^= 0x20
        return bytes(out)
    return damage


def existing(relative: str, data: bytes = b"the earlier file\n") -> Callable[[Env], None]:
    """An earlier output that the failing command must leave exactly as it was."""
    return write(relative, data)


def both(*setups: Callable[[Env], None]) -> Callable[[Env], None]:
    def setup(env: Env) -> None:
        for s in setups:
            s(env)
    return setup


# ---- the API calls -------------------------------------------------------------------------------------

def api_load(relative: str) -> Callable[[Env], object]:
    def call(env: Env):
        import aekit
        return aekit.load(env.fill(relative))
    return call


def api_decode_width(env: Env):
    import aekit
    model = aekit.load(env.run)
    return model.decode(np.zeros((3, model.code_dim + 1), np.float32))


def api_encode_size(env: Env):
    import aekit
    return aekit.load(env.run).encode(np.zeros((2, 1, 32, 32), np.float32))


def api_train(**kwargs) -> Callable[[Env], object]:
    def call(env: Env):
        import aekit
        return aekit.train("fashion-ae", data="digits-sample", out=env.tmp / "out", **kwargs)
    return call


def api_decompress_other(env: Env):
    import copy

    import torch

    import aekit
    from aekit.apps.codec import decompress
    from aekit.apps.model import Model

    model = aekit.load(env.run)
    other = copy.deepcopy(model.autoencoder)
    with torch.no_grad():
        next(other.parameters())[0].add_(1e-3)
    return decompress(Model(other), (env.tmp / "x.aek").read_bytes())


TRAIN = ("train", "--preset", "fashion-ae", "--data", "digits-sample", "--out", "{tmp}/out")
YAML = "config.yaml"

CASES: list[Case] = [
    # -- train: numbers out of range (click's usage errors, made one line) and config values --
    Case("epochs zero", ("'--epochs'", "0", "range x>=1"), argv=(*TRAIN, "--epochs", "0")),
    Case("epochs negative", ("'--epochs'", "-3", "range x>=1"), argv=(*TRAIN, "--epochs", "-3")),
    Case("epochs not a number", ("'--epochs'", "nan", "not a valid integer", "see 'aekit train --help'"),
         argv=(*TRAIN, "--epochs", "nan")),
    Case("batch size zero", ("'--batch-size'", "0", "range x>=1"), argv=(*TRAIN, "--batch-size", "0")),
    Case("batch size negative", ("'--batch-size'", "-8", "range x>=1"), argv=(*TRAIN, "--batch-size", "-8")),
    Case("lr zero", ("'--lr'", "0.0", "range x>0"), argv=(*TRAIN, "--lr", "0")),
    Case("lr negative", ("'--lr'", "-0.1", "range x>0"), argv=(*TRAIN, "--lr", "-0.1")),
    Case("lr NaN", ("lr", "nan", "positive finite"), argv=(*TRAIN, "--lr", "nan")),
    Case("lr infinite", ("lr", "inf", "positive finite"), argv=(*TRAIN, "--lr", "inf")),
    Case("--set lr NaN", ("train: lr", "nan", "positive finite"), argv=(*TRAIN, "--set", "train.lr=nan")),
    Case("--set epochs zero", ("train: epochs", "must be a positive integer"),
         argv=(*TRAIN, "--set", "train.epochs=0")),
    Case("--set batch size negative", ("train: batch_size", "must be a positive integer"),
         argv=(*TRAIN, "--set", "train.batch_size=-2")),
    Case("--set wrong type", ("train.epochs", "abc", "expected an integer"),
         argv=(*TRAIN, "--set", "train.epochs=abc")),
    Case("--set unknown key, did you mean", ("model.botleneck", "did you mean 'bottleneck'", "valid keys here are"),
         argv=(*TRAIN, "--set", "model.botleneck.dim=8")),
    Case("--set without a value", ("--set", "expected key=value", "e.g. --set model."),
         argv=(*TRAIN, "--set", "train.epochs")),
    Case("API epochs zero", ("epochs", "must be a positive integer"), api=api_train(epochs=0)),
    Case("API lr NaN", ("lr", "nan", "positive finite"), api=api_train(lr=float("nan"))),
    Case("API batch size negative", ("batch_size", "must be a positive integer"), api=api_train(batch_size=-1)),
    # -- names: preset, dataset, command, with "did you mean" --
    Case("unknown preset", ("fashon-ae", "did you mean 'fashion-ae'", "run `aekit presets`"),
         argv=("train", "--preset", "fashon-ae", "--data", "digits-sample", "--out", "{tmp}/out")),
    Case("unknown dataset", ("mnsit", "did you mean 'mnist'", "use one of mnist"),
         argv=("train", "--preset", "fashion-ae", "--data", "mnsit", "--out", "{tmp}/out")),
    Case("unknown command", ("trian", "Did you mean 'train'?"), argv=("trian",)),
    Case("unknown command, real process", ("evalute", "Did you mean 'evaluate'?"), argv=("evalute", "x"),
         subprocess=True),
    Case("unknown option", ("--epoch", "Did you mean '--epochs'?"), argv=(*TRAIN, "--epoch", "2")),
    # -- YAML config files --
    Case("YAML syntax error", (YAML, "YAML", "line 3", "fix the syntax"), argv=(*TRAIN, "--config", "{tmp}/" + YAML),
         setup=write(YAML, "train:\n  epochs: [1, 2\n  lr: 0.1\n")),
    Case("YAML unknown key, did you mean", ("train.epoch", "did you mean 'epochs'", "valid keys here are"),
         argv=(*TRAIN, "--config", "{tmp}/" + YAML), setup=write(YAML, "train:\n  epoch: 3\n")),
    Case("YAML unknown section", ("trian", "did you mean 'train'", "valid keys here are"),
         argv=(*TRAIN, "--config", "{tmp}/" + YAML), setup=write(YAML, "trian:\n  epochs: 3\n")),
    Case("YAML wrong type", ("train.epochs", "ten", "expected an integer"),
         argv=(*TRAIN, "--config", "{tmp}/" + YAML), setup=write(YAML, "train:\n  epochs: ten\n")),
    Case("YAML not a mapping", (YAML, "mapping", "write it as"),
         argv=(*TRAIN, "--config", "{tmp}/" + YAML), setup=write(YAML, "- train\n- epochs\n")),
    Case("YAML whose tag would run a command", (YAML, "tag", "python/object", "write plain values"),
         argv=(*TRAIN, "--config", "{tmp}/" + YAML),
         setup=write(YAML, "train: !!python/object/apply:os.system ['touch {tmp}/ran']\n")),
    Case("YAML file missing", ("nothere.yaml", "not found", "check the path given to --config"),
         argv=(*TRAIN, "--config", "{tmp}/nothere.yaml")),
    # -- data given to train --
    Case("zero-image .npy", ("training split is empty", "give a dataset with images"),
         argv=TRAIN[:4] + ("{tmp}/empty.npy", "--out", "{tmp}/out"),
         setup=npy("empty.npy", np.zeros((0, 28, 28), np.uint8))),
    Case("one-dimensional .npy", ("flat.npy", "shape [784]", "save images as [N, H, W]"),
         argv=TRAIN[:4] + ("{tmp}/flat.npy", "--out", "{tmp}/out"),
         setup=npy("flat.npy", np.zeros(784, np.uint8))),
    Case("a pickled object array .npy", ("obj.npy", "pickled", "save numbers instead"),
         argv=TRAIN[:4] + ("{tmp}/obj.npy", "--out", "{tmp}/out"),
         setup=npy("obj.npy", np.array([{"a": 1}, None], dtype=object))),
    # -- output folders --
    Case("--out in a read-only place", ("/proc/aekit-run", "choose a folder you can write to"),
         argv=(*TRAIN[:-1], "/proc/aekit-run", "--epochs", "1")),
    Case("--out under a file", ("a-file/run", "Not a directory", "choose a folder you can write to"),
         argv=(*TRAIN[:-1], "{tmp}/a-file/run", "--epochs", "1"), setup=existing("a-file")),
    Case("unknown preset, real process", ("dense-ae-23", "did you mean 'dense-ae-32'", "run `aekit presets`"),
         subprocess=True,
         argv=("train", "--preset", "dense-ae-23", "--data", "digits-sample", "--out", "{tmp}/out")),
    Case("full disk while training",
         ("no space left on device writing", "config.yaml", "free some space or write elsewhere"),
         argv=(*TRAIN, "--epochs", "1"), patch="full disk"),
    Case("full disk writing codes over an earlier file",
         ("no space left on device", "codes.npy", "free some space or write elsewhere"),
         argv=("encode", "{run}", "{digits}", "--out", "{tmp}/codes.npy"), setup=existing("codes.npy"),
         patch="full disk"),
    Case("export into a read-only place", ("/proc/aekit-onnx", "choose a writable folder"),
         argv=("export", "{run}", "--onnx", "/proc/aekit-onnx")),
    Case("reconstruct into a read-only place", ("/proc/aekit-rec", "choose a folder you can write to"),
         argv=("reconstruct", "{run}", "{digits}", "--out", "/proc/aekit-rec")),
    # -- explore, report --
    Case("explore a missing run", ("gone not found", "give a run folder", "pretrained:NAME"),
         argv=("explore", "{tmp}/gone", "--port", "0")),
    Case("explore an unknown pretrained model",
         ("no such pretrained model", "did you mean 'pretrained:mnist-2d'", "`aekit pretrained` lists them"),
         argv=("explore", "pretrained:mnist-3d", "--port", "0")),
    Case("explore on a port out of range", ("--port", "70000", "range 0<=x<=65535"),
         argv=("explore", "{run}", "--port", "70000")),
    # -- pretrained build --
    Case("pretrained build of an unknown name", ("mnist-2b", "did you mean 'mnist-2d'", "recipes: "),
         argv=("pretrained", "build", "mnist-2b", "--out", "{tmp}/models")),
    Case("pretrained build trial without --out", ("replace the shipped pretrained:mnist-2d", "give --out DIR"),
         argv=("pretrained", "build", "mnist-2d", "--epochs", "1")),
    Case("report of a folder that is not a run", ("gone is not a run folder", "give a folder written by `aekit train`"),
         argv=("report", "{tmp}/gone")),
    Case("compare a run with itself", ("given twice", "each run folder once"),
         argv=("report", "{run}", "{run}", "-o", "{tmp}/compare.html")),
    Case("report into a read-only place", ("/proc/aekit-report.html", "choose a folder you can write to"),
         argv=("report", "{run}", "-o", "/proc/aekit-report.html")),
    # -- resume --
    Case("resume a folder that is not a run", ("no config.yaml", "give the folder of a run started by `aekit train`"),
         argv=("train", "--resume", "{tmp}/empty"), setup=lambda env: (env.tmp / "empty").mkdir()),
    Case("resume a missing folder", ("'--resume'", "does not exist", "see 'aekit train --help'"),
         argv=("train", "--resume", "{tmp}/gone")),
    Case("resume without a checkpoint", ("no checkpoint", "resume needs a run folder written by `aekit train`"),
         argv=("train", "--resume", "{run}", "--epochs", "9"),
         setup=in_run(lambda run: shutil.rmtree(run / "checkpoint"))),
    Case("resume a truncated checkpoint", ("checkpoint", "damaged", "start the run again"),
         argv=("train", "--resume", "{run}", "--epochs", "9"), setup=in_run(truncate_checkpoint)),
    Case("resume a checkpoint of another config",
         ("checkpoint", "another model", "restore the run's own config.yaml, or start a new run"),
         argv=("train", "--resume", "{run}", "--epochs", "9"), setup=in_run(checkpoint_of_another_config)),
    Case("resume with a changed flag", ("--lr cannot be changed when resuming", "start a new run to change it"),
         argv=("train", "--resume", "{run}", "--lr", "0.5")),
    # -- model files --
    Case("model.safetensors missing", ("model.safetensors not found", "wait for one", "copy it again"),
         argv=("info", "{run}"),
         setup=in_run(lambda run: (run / "model.safetensors").unlink())),
    Case("model.safetensors truncated", ("model.safetensors", "damaged", "copy the model again or re-save it"),
         argv=("info", "{run}"),
         setup=in_run(truncate("model.safetensors"))),
    Case("model.json of a newer format", ("format version 99", "upgrade aekit"), argv=("info", "{run}"),
         setup=in_run(edit_json("model.json", newer_format))),
    Case("model.json not JSON", ("model.json", "not valid JSON", "re-save the model or copy it again"),
         argv=("info", "{run}"),
         setup=in_run(lambda run: (run / "model.json").write_text("{not json"))),
    Case("a pickle given as a model", ("model.pt", "pickle", "give a run folder from `aekit train`"),
         argv=("info", "{tmp}/model.pt"), setup=a_pickle),
    Case("API: a pickle given as a model", ("model.pt", "pickle", "give a run folder from `aekit train`"),
         api=api_load("{tmp}/model.pt"), setup=a_pickle),
    Case("API: a missing model", ("nothere not found", "give a run folder"), api=api_load("{tmp}/nothere")),
    Case("evaluate a folder that holds no run", ("nothere not found", "give a run folder"),
         argv=("evaluate", "{tmp}/nothere")),
    # -- images and codes that do not fit the model --
    Case("images of another size", ("28x28", "32x32", "resize them to 28x28"),
         argv=("reconstruct", "{run}", "{tmp}/big.npy", "--out", "{tmp}/o"),
         setup=npy("big.npy", np.zeros((4, 32, 32), np.uint8))),
    Case("images of another channel count", ("1-channel", "3 channels", "convert them to grey"),
         argv=("reconstruct", "{run}", "{tmp}/rgb.npy", "--out", "{tmp}/o"),
         setup=npy("rgb.npy", np.zeros((4, 28, 28, 3), np.uint8))),
    Case("API: encode images of another size", ("32x32", "resize them to 28x28"), api=api_encode_size),
    Case("codes of the wrong width to decode", ("[3, 21]", "expected [N, 20]"),
         argv=("decode", "{run}", "{tmp}/codes.npy", "--out", "{tmp}/o"),
         setup=npy("codes.npy", np.zeros((3, 21), np.float32))),
    Case("API: codes of the wrong width", ("[3, 21]", "expected [N, 20]"), api=api_decode_width),
    # An empty file: numpy's EOFError, which click would turn into "aekit: interrupted" (exit 130).
    Case("encode an empty .npy", ("cannot read", "EOFError", "save it"),
         argv=("encode", "{run}", "{tmp}/empty.npy", "--out", "{tmp}/c.npy"), setup=write("empty.npy", b"")),
    Case("codes not a .npy", ("codes.npy", "pickled", "save numbers instead"),
         argv=("decode", "{run}", "{tmp}/codes.npy", "--out", "{tmp}/o"),
         setup=write("codes.npy", b"hello, not numpy")),
    # -- jobs' options --
    Case("sample -n 0", ("-n", "got 0", "must be a positive number"),
         argv=("sample", "{run}", "-n", "0", "--out", "{tmp}/s.png")),
    Case("interpolate with one step", ("--steps", "got 1", "must be at least 2"),
         argv=("interpolate", "{run}", "{digits}:0", "{digits}:1",
                                                          "--steps", "1", "--out", "{tmp}/i.png")),
    Case("an unknown interpolation method", ("sleep", "use linear or slerp"),
         argv=("interpolate", "{run}", "{digits}:0", "{digits}:1", "--method", "sleep", "--out", "{tmp}/i.png")),
    Case("an unknown noise", ("blur", "use one of gaussian, masking, saltpepper"),
         argv=("denoise", "{run}", "{digits}", "--noise", "blur:2", "--out", "{tmp}/d")),
    Case("a bad anomaly threshold", ("threshold", "high", "auto or a number"),
         argv=("anomaly", "{run}", "{digits}", "--threshold", "high", "--out", "{tmp}/a.csv")),
    Case("sample to a non-image name", ("s.txt", "give a name such as out.png"),
         argv=("sample", "{run}", "--out", "{tmp}/s.txt")),
    Case("latent map of an unknown method", ("umap", "pip install umap-learn", "or use --method tsne or pca"),
         argv=("latent-map", "{run}", "--data", "{digits}", "--method", "umap", "--out", "{tmp}/m.png")),
    Case("evaluate an unknown anomaly class", ("42", "no such class", "give an index or name among"),
         argv=("evaluate", "{run}", "--anomaly-class", "42", "--limit", "50")),
    # -- .aek files --
    Case("decompress a truncated .aek", ("truncated", "compress the images again"),
         argv=("decompress", "{tmp}/x.aek", "{run}", "--out", "{tmp}/o"),
         setup=an_aek(lambda data: data[: len(data) // 2])),
    Case("decompress a tampered .aek", ("checksum", "compress the images again"),
         argv=("decompress", "{tmp}/x.aek", "{run}", "--out", "{tmp}/o"),
         setup=an_aek(flip(-6))),
    Case("decompress an .aek of another model", ("another model", "decompress it with the model that compressed it"),
         api=api_decompress_other,
         setup=an_aek(lambda data: data)),
    Case("decompress a file that is not an .aek", ("not an .aek file", "give a file that `aekit compress` wrote"),
         argv=("decompress", "{tmp}/x.aek", "{run}", "--out", "{tmp}/o"),
         setup=write("x.aek", b"\x89PNG\r\n\x1a\n" * 9)),
    Case("compress to a non-.aek name", ("x.zip", "give a name such as out.aek"),
         argv=("compress", "{run}", "{digits}", "--out", "{tmp}/x.zip")),
    # -- sweep --
    Case("sweep without a list", ("comma list", "e.g. --set model.bottleneck.dim=2,5,10"),
         argv=("sweep", "--preset", "dense-ae-32", "--set", "model.bottleneck.dim=4", "--data", "digits-sample",
               "--out", "{tmp}/sw")),
]
