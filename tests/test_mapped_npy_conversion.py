""".npy files mapped (data.memmap=always) give the pixels the in-memory reader
gives for every layout and dtype it reads, or refuse in one line; the
conversion into derived maps is bounded by its chunk; the derived cache is
keyed on the file's identity and version and sweeps builds left by killed
processes; auto counts what the in-memory reader would hold."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import aekit.data.user
from aekit.data import load_dataset
from aekit.data.memmap import is_mapped
from aekit.errors import DataError
from rgb_folders import tinted_digits

SPLITS = ("train", "val", "test")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def digits():
    """uint8 [120, 16, 16, 3] tinted digits (NHWC)."""
    return tinted_digits(120, 16)


def assert_mapped_as_in_memory(path: Path, **kw) -> None:
    mapped, in_memory = load_dataset(str(path), memmap="always", **kw), load_dataset(str(path), memmap="never", **kw)
    for split in SPLITS:
        m, r = getattr(mapped, split).images, getattr(in_memory, split).images
        assert is_mapped(m) and m.dtype == r.dtype and np.array_equal(m, r), split
    assert mapped.binary == in_memory.binary


def test_a_fortran_ordered_npy_is_refused_mapped_in_one_line(digits, tmp_path, monkeypatch):
    np.save(tmp_path / "f.npy", np.asfortranarray(digits))
    with pytest.raises(DataError) as e:
        load_dataset(str(tmp_path / "f.npy"), memmap="always")
    assert "\n" not in str(e.value) and "Fortran order" in str(e.value)
    assert "np.save(p, np.ascontiguousarray(a))" in str(e.value)
    # The fix it names works: the same pixels as the in-memory reader gives for the Fortran file.
    np.save(tmp_path / "c.npy", np.ascontiguousarray(np.load(tmp_path / "f.npy")))
    c, f = load_dataset(str(tmp_path / "c.npy"), memmap="always"), load_dataset(str(tmp_path / "f.npy"), memmap="never")
    assert np.array_equal(c.train.images, f.train.images)
    # auto never maps it, whatever its size: in memory numpy reads it.
    monkeypatch.setattr("aekit.data.mapped.AUTO_FRACTION", 0.0)
    assert not is_mapped(load_dataset(str(tmp_path / "f.npy"), memmap="auto").train.images)


@pytest.mark.parametrize("dtype", [">f4", np.longdouble, "<f2"])
def test_other_float_dtypes_map_as_in_memory(dtype, digits, tmp_path):
    np.save(tmp_path / "x.npy", (digits / 255).astype(dtype))
    assert_mapped_as_in_memory(tmp_path / "x.npy")


@pytest.mark.parametrize("layout, dtype, kw", [
    ("nhwc", np.uint8, {}),
    ("nchw", np.float32, {}),
    ("nhwc", np.float64, {"image_size": 8, "channels": 1}),
    ("nchw", np.uint8, {"image_size": 20, "channels": 3}),
])
def test_chunk_boundaries_give_the_in_memory_pixels(layout, dtype, kw, digits, tmp_path, monkeypatch):
    # A few rows per chunk, counted at the source's row (float and resized): 3-12 rows, so every split
    # (12 test images, 11 val, 97 train) is written over several chunks, the last one short.
    monkeypatch.setattr("aekit.data.derived.CHUNK_BYTES", 16 * 16 * 3 * 8 * 3)
    images = digits if layout == "nhwc" else digits.transpose(0, 3, 1, 2)
    images = images if dtype == np.uint8 else (images / 255).astype(dtype)
    np.save(tmp_path / "x.npy", np.ascontiguousarray(images))
    calls = []
    real = aekit.data.mapped_arrays.read_rows
    monkeypatch.setattr("aekit.data.mapped_arrays.read_rows", lambda a, i: calls.append(len(i)) or real(a, i))
    assert_mapped_as_in_memory(tmp_path / "x.npy", **kw)
    assert max(calls) < 20 and len(calls) > 10


PEAK_SCRIPT = """
import sys
from pathlib import Path
from aekit.data import load_dataset
def mib(key):
    return int(next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(key)).split()[1]) >> 10
Path("/proc/self/clear_refs").write_text("5")
before = mib("VmRSS")
load_dataset(sys.argv[1], memmap="always", image_size=8, channels=1)
print(mib("VmHWM") - before)
"""


def test_converting_a_float_npy_with_a_resize_stays_within_the_chunk(tmp_path):
    """A 48 MiB float32 NHWC file shrunk to 8x8 grey: the conversion's peak stays
    near its 16 MiB chunk (its float rows, their uint8 pixels and float32
    resize copies), not the file's size (the whole file in one chunk before:
    a chunk was counted in 64-byte output rows)."""
    images = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32, shape=(1024, 64, 64, 3))
    tiles = (tinted_digits(256, 64) / np.float32(255)).astype(np.float32)
    for start in range(0, len(images), len(tiles)):
        images[start:start + len(tiles)] = tiles
    images.flush()
    del images
    out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(tmp_path / "big.npy")], capture_output=True,
                         text=True, env={**os.environ, "AEKIT_CACHE_DIR": str(tmp_path / "cache")}, check=True)
    peak = int(out.stdout.split()[-1])
    # Measured (2-core AMD EPYC, 2026-11-30): 41 MiB (45 with a 96 MiB file); 160 before the fix (309
    # with the 96 MiB file: the whole file in one chunk).
    print(f"conversion peak {peak} MiB")
    assert peak < 80, out.stdout


def test_auto_counts_a_float_source_read_whole_in_memory(digits, tmp_path, monkeypatch):
    np.save(tmp_path / "x.npy", (digits / 255).astype(np.float64))
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    # 2.5x the uint8 images: under the float64 source (8x) plus the uint8 splits (1x), so auto maps it
    # (it counted the uint8 images alone before); a uint8 source (1x + 1x) stays in memory.
    monkeypatch.setattr("aekit.data.mapped.AUTO_FRACTION", 2.5 * digits.nbytes / ram)
    assert is_mapped(load_dataset(str(tmp_path / "x.npy"), memmap="auto").train.images)
    np.save(tmp_path / "u.npy", digits)
    assert not is_mapped(load_dataset(str(tmp_path / "u.npy"), memmap="auto").train.images)


def test_a_killed_builds_temporary_files_are_swept(digits, tmp_path, cache):
    """Derived maps' temporary files and image folders' build folders, by the
    one sweep (aekit.data.cache.remove_stale_builds): those untouched for an
    hour go, a live one stays."""
    (cache / "derived").mkdir(parents=True)
    stale, live = cache / "derived" / ".0123abcd.npy.deadbeef.tmp", cache / "derived" / ".4567abcd.npy.feedf00d.tmp"
    stale_folder = cache / "folders" / "0123abcd.tmp-deadbeef"
    stale_folder.mkdir(parents=True)
    for path in (stale, live, stale_folder / "train.npy"):
        path.write_bytes(b"x" * 100)
    old = time.time() - 2 * 3600
    for path in (stale, stale_folder / "train.npy", stale_folder):
        os.utime(path, (old, old))
    np.save(tmp_path / "x.npy", digits)
    load_dataset(str(tmp_path / "x.npy"), memmap="always")
    assert not stale.exists() and live.exists()
    (tmp_path / "folder").mkdir()
    for i, image in enumerate(digits[:20]):
        Image.fromarray(image, "RGB").save(tmp_path / "folder" / f"{i:02d}.png")
    load_dataset(str(tmp_path / "folder"), memmap="always")
    assert not stale_folder.exists()


def test_a_file_rewritten_with_its_mtime_put_back_is_converted_again(digits, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, digits)
    first = load_dataset(str(path), memmap="always").train.images.clone()
    st = path.stat()
    np.save(path, 255 - digits)                       # the same size, other pixels
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))   # as cp -p / rsync -t leave it
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    again = load_dataset(str(path), memmap="always").train.images
    assert np.array_equal(again, 255 - first)


def test_out_of_memory_reading_an_npz_says_to_save_an_npy(digits, tmp_path, monkeypatch):
    np.savez(tmp_path / "x.npz", images=digits)

    def no_memory(path):
        raise MemoryError

    monkeypatch.setattr(aekit.data.user, "read_npz", no_memory)
    with pytest.raises(DataError) as e:
        load_dataset(str(tmp_path / "x.npz"), memmap="auto")
    message = str(e.value)
    assert "\n" not in message and "numpy.save as one .npy" in message and "data.memmap to always" in message
    assert message.index("numpy.save") < message.index("data.memmap")


def test_binary_is_recorded_with_the_derived_maps(tmp_path, monkeypatch):
    binary = np.where(tinted_digits(60, 8)[..., :1] > 127, 255, 0).astype(np.uint8)
    np.save(tmp_path / "b.npy", binary)
    np.save(tmp_path / "g.npy", tinted_digits(60, 8))
    assert load_dataset(str(tmp_path / "b.npy"), memmap="always").binary
    assert not load_dataset(str(tmp_path / "g.npy"), memmap="always").binary
    # Loaded again, the maps made: the recorded answer, the pixels not read for it.
    monkeypatch.setattr("aekit.data.derived._binary", lambda rows: pytest.fail("pixels read again"))
    assert load_dataset(str(tmp_path / "b.npy"), memmap="always").binary
    assert not load_dataset(str(tmp_path / "g.npy"), memmap="always").binary
