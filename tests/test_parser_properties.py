"""Property tests of the file parsers (issue #14): random bytes, and valid
files (made from real digits) with bytes flipped, cut short or spliced in,
never end in anything but a parse or the one-line AekitError. Every other
exception (IndexError, ValueError, a numpy or PIL error, ...) would reach the
user as a traceback, and fails here.

Parsers: IDX (raw and gzip), binarized-MNIST .amat, .npy, .npz, the jobs'
.npy inputs (images to encode, codes to decode), image folders, model files
(model.json) and .aek files. Each draws `EXAMPLES` examples per property
(AEKIT_PROPERTY_EXAMPLES=1000 for a longer hunt); hypothesis prints the
failing input."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from aekit.errors import AekitError

EXAMPLES = int(os.environ.get("AEKIT_PROPERTY_EXAMPLES", "100"))   # more for a longer hunt
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])


def parses_or_one_line_error(parse, *args) -> None:
    """`parse(*args)` returns, or raises AekitError with a one-line message: nothing else."""
    try:
        parse(*args)
    except AekitError as err:
        assert "\n" not in str(err) and str(err), repr(err)


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """`valid` with a few bytes flipped, then maybe cut short or given a run of random bytes."""
    data = bytearray(valid)
    for at, mask in draw(st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(1, 255)), max_size=6)):
        data[at] ^= mask
    edit = draw(st.sampled_from(["flip", "cut", "splice"]))
    if edit == "cut":
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif edit == "splice":
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


def random_or_mutated(valid: bytes):
    return st.one_of(st.binary(max_size=2048), mutated(valid))


# ---- real digits, made into each format once -----------------------------------------------------------

@pytest.fixture(scope="module")
def digits(shared_data) -> np.ndarray:
    from aekit.data.idx import read_idx_images
    return read_idx_images(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")[:8]   # uint8 [8, 28, 28]


def idx_bytes(images: np.ndarray) -> bytes:
    header = (2051).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in images.shape)
    return header + images.tobytes()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npz_bytes(images: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, x_train=images[:6], y_train=np.arange(6, dtype=np.uint8), x_test=images[6:],
             y_test=np.arange(2, dtype=np.uint8))
    return buffer.getvalue()


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


# ---- the properties ------------------------------------------------------------------------------------

@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gzip"])
def test_idx(digits, tmp_path, compressed):
    from aekit.data.idx import read_idx_images, read_idx_labels

    valid = idx_bytes(digits)
    valid = gzip.compress(valid, mtime=0) if compressed else valid
    path = tmp_path / "images-idx3-ubyte"

    @PROPERTY
    @given(random_or_mutated(valid), st.booleans())
    def check(data, as_labels):
        path.write_bytes(data)
        parses_or_one_line_error(read_idx_labels if as_labels else read_idx_images, path)
    check()


def test_amat(shared_data, tmp_path):
    from aekit.data.amat import LINE_BYTES, read_amat

    with open(shared_data / "binarized-mnist" / "binarized_mnist_test.amat", "rb") as f:
        valid = f.read(3 * LINE_BYTES)
    path = tmp_path / "x.amat"

    @PROPERTY
    @given(random_or_mutated(valid))
    def check(data):
        path.write_bytes(data)
        parses_or_one_line_error(read_amat, path)
    check()


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_npy_and_npz(digits, tmp_path, kind):
    from aekit.data.arrays import read_npy, read_npz

    valid = npy_bytes(digits) if kind == "npy" else npz_bytes(digits)
    path = tmp_path / f"x.{kind}"

    @PROPERTY
    @given(random_or_mutated(valid))
    def check(data):
        path.write_bytes(data)
        parses_or_one_line_error(read_npy if kind == "npy" else read_npz, path)
    check()


@pytest.mark.parametrize("job", ["encode", "decode"])
def test_job_npy_inputs(digits, tmp_path, job):
    """The jobs' own .npy readers: `aekit encode RUN x.npy` (images) and `aekit decode RUN codes.npy`."""
    from aekit.apps.encode import load_codes
    from aekit.apps.inputs import read_codes, read_images

    def read(path):
        if job == "encode":
            read_images(path, (1, 28, 28))
        else:
            read_codes(load_codes(path), 2)

    valid = npy_bytes(digits if job == "encode" else np.linspace(-2, 2, 8, dtype=np.float32).reshape(4, 2))
    path = tmp_path / "x.npy"

    @PROPERTY
    @given(st.one_of(random_or_mutated(valid), st.just(b"PK\x03\x04x")))   # a zip's magic: BadZipFile
    def check(data):
        path.write_bytes(data)
        parses_or_one_line_error(read, path)
    check()


def test_image_folder(digits, tmp_path):
    from aekit.data.folder import read_image_folder

    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(digits[:3]):
        (folder / f"{i}.png").write_bytes(png_bytes(image))
    valid = png_bytes(digits[3])

    @PROPERTY
    @given(random_or_mutated(valid), st.sampled_from(["3.png", "3.jpg", "3.bmp"]))
    def check(data, name):
        for extra in folder.glob("3.*"):
            extra.unlink()
        (folder / name).write_bytes(data)
        parses_or_one_line_error(read_image_folder, folder, None, None)
    check()


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=8)


def key_paths(value, prefix=()) -> list[tuple]:
    """Every path of keys into a JSON object, to replace the value found there."""
    paths = []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths.append((*prefix, key))
            paths += key_paths(inner, (*prefix, key))
    return paths


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    """model.json + model.safetensors of a briefly trained run (tests/test_apps_support.py)."""
    from test_apps_support import trained_run

    folder = tmp_path_factory.mktemp("model")
    for name in ("model.json", "model.safetensors"):
        shutil.copyfile(trained_run("fashion-ae") / name, folder / name)
    return folder


def test_model_json(model_folder):
    from aekit.io import load_model

    path = model_folder / "model.json"
    valid_text = path.read_text()
    valid = json.loads(valid_text)
    paths = key_paths(valid)

    @PROPERTY
    @given(st.one_of(random_or_mutated(valid_text.encode()),
                     st.tuples(st.sampled_from(paths), JSON)))
    def check(change):
        if isinstance(change, bytes):
            path.write_bytes(change)
        else:   # a well-formed JSON file with one value anywhere replaced by any JSON value
            where, value = change
            meta = json.loads(valid_text)
            inner = meta
            for key in where[:-1]:
                inner = inner[key]
            inner[where[-1]] = value
            path.write_text(json.dumps(meta))
        try:
            parses_or_one_line_error(load_model, model_folder)
        finally:
            path.write_text(valid_text)
    check()


def test_aek(model_folder, digits):
    import aekit
    from aekit.apps.codec import compress, decompress

    model = aekit.load(model_folder / "model.safetensors")
    valid = compress(model, digits[:4], bits=6)

    @PROPERTY
    @given(random_or_mutated(valid))
    def check(data):
        parses_or_one_line_error(decompress, model, data)
    check()
