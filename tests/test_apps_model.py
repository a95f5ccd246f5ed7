"""aekit.load and Model: the user's types in and out, checks at the door,
batching, seeds; on a fashion-ae (and a vae-kingma) trained briefly on real digits."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import aekit
from aekit.apps import inputs as inputs_module
from aekit.errors import AekitError
from aekit.metrics import reconstruct as metrics_reconstruct
from test_apps_support import held_out_images, trained, trained_run


@pytest.fixture(scope="module")
def model():
    return aekit.load(trained_run("fashion-ae"))


@pytest.fixture(scope="module")
def vae():
    return aekit.load(trained_run("vae-kingma"))


@pytest.fixture(scope="module")
def digits():
    return held_out_images()[0][:64]   # uint8 [64, 28, 28]


def test_load_finds_run_folder_best_and_model_file(model):
    run = trained_run("fashion-ae")
    assert isinstance(model.autoencoder, aekit.Autoencoder)
    assert model.kind == "ae" and model.code_dim == 20 and model.input_shape == (1, 28, 28)
    best = aekit.load(run, best=True)
    by_file = aekit.load(run / "model.safetensors")
    assert by_file.run_dir == run   # its config.yaml beside it: the run's data is found again
    state = model.autoencoder.state_dict()
    assert all(torch.equal(state[k], v) for k, v in by_file.autoencoder.state_dict().items())
    assert best.code_dim == 20
    from_run = aekit.load(trained("fashion-ae"))   # the Run aekit.train returned
    assert from_run.run_dir == run and from_run.data.name == model.data.name
    digits = held_out_images()[0][:10]
    assert np.array_equal(from_run.encode(digits), model.encode(digits))
    # A Run's best weights come from its folder, whatever its model in memory became since.
    changed = copy.deepcopy(trained("fashion-ae"))
    torch.nn.init.zeros_(next(changed.model.parameters()))
    assert np.array_equal(aekit.load(changed, best=True).encode(digits), best.encode(digits))
    assert not np.array_equal(aekit.load(changed).encode(digits), best.encode(digits))


def test_outputs_come_back_in_the_type_layout_and_range_that_went_in(model, digits):
    unit = digits.astype(np.float32) / 255
    reference = model.reconstruct(unit[:, None])                     # numpy float NCHW
    assert isinstance(reference, np.ndarray) and reference.dtype == np.float32 and reference.shape == (64, 1, 28, 28)
    assert 0 <= reference.min() and reference.max() <= 1
    # uint8 [N, H, W] in: uint8 [N, H, W] out, the same reconstructions rounded
    as_uint8 = model.reconstruct(digits)
    assert as_uint8.dtype == np.uint8 and as_uint8.shape == (64, 28, 28)
    assert np.abs(as_uint8.astype(np.float32) - reference[:, 0] * 255).max() <= 0.5 + 1e-3
    # torch [N, H, W, C] in: torch [N, H, W, C] out
    nhwc = torch.from_numpy(unit[..., None])
    out = model.reconstruct(nhwc)
    assert isinstance(out, torch.Tensor) and out.shape == (64, 28, 28, 1)
    assert torch.allclose(out[..., 0], torch.from_numpy(reference[:, 0]), atol=1e-6)
    # one image [H, W] in: one image out; float64 in: float64 out
    single = model.reconstruct(unit[3].astype(np.float64))
    assert single.shape == (28, 28) and single.dtype == np.float64
    assert np.allclose(single, reference[3, 0], atol=1e-6)
    # codes: [N, D] of the input's type, [D] for one image
    assert model.encode(digits).shape == (64, 20) and model.encode(digits[0]).shape == (20,)
    assert isinstance(model.encode(torch.from_numpy(digits)), torch.Tensor)


def test_files_folders_pil_and_lists_read_as_numpy_would(model, digits, tmp_path):
    for i in range(5):
        Image.fromarray(digits[i]).save(tmp_path / f"digit_{i}.png")
    Image.fromarray(digits[5]).convert("RGB").save(tmp_path / "digit_5.png")   # RGB file, grey model: converted
    expected = model.reconstruct(digits[:6])
    from_folder = model.reconstruct(tmp_path)
    assert isinstance(from_folder, np.ndarray) and from_folder.shape == (6, 28, 28)
    assert np.array_equal(from_folder, expected)
    files = sorted(tmp_path.glob("*.png"))
    assert np.array_equal(model.reconstruct([str(f) for f in files]), expected)
    assert np.array_equal(model.reconstruct(files[2]), expected[2])
    pil = Image.open(files[4])
    assert np.array_equal(model.reconstruct(pil), expected[4])
    assert np.array_equal(model.reconstruct([digits[0], digits[1]]), expected[:2])
    np.save(tmp_path / "batch.npy", digits[:6])
    assert np.array_equal(model.reconstruct(tmp_path / "batch.npy"), expected)


def test_encode_then_decode_is_reconstruct(model, vae, digits):
    for m in (model, vae):
        x = torch.from_numpy(digits[:, None])
        assert torch.allclose(m.decode(m.encode(x)), metrics_reconstruct(m.autoencoder, x), atol=1e-6)
        assert np.allclose(m.decode(m.encode(digits)), m.reconstruct(digits.astype(np.float32) / 255)[:, None],
                           atol=1e-6)


def test_a_reconstruction_is_closer_to_its_own_input_than_to_the_others(model, vae):
    images = held_out_images()[0][:200]
    x = images.reshape(200, -1).astype(np.float64) / 255
    for m in (model, vae):
        r = m.reconstruct(images.astype(np.float32) / 255).reshape(200, -1).astype(np.float64)
        dist = ((r[:, None, :] - x[None, :, :]) ** 2).sum(-1)     # [recon, input]
        own, others = np.diag(dist), (dist.sum(1) - np.diag(dist)) / 199
        # measured: 100% (fashion-ae and vae-kingma) and 32% / 34% nearest of all 200 (chance 0.5%)
        assert (own < others).mean() > 0.95, (own < others).mean()
        assert (dist.argmin(1) == np.arange(200)).mean() > 0.15


def test_vae_encode_sample_draws_around_the_mean_and_a_seed_fixes_it(vae, digits):
    before = torch.get_rng_state()
    mean = vae.encode(digits)
    a, b = vae.encode(digits, sample=True, seed=1), vae.encode(digits, sample=True, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, mean)
    assert not np.array_equal(a, vae.encode(digits, sample=True, seed=2))
    assert torch.equal(torch.get_rng_state(), before)   # the caller's stream is untouched
    # draws scatter around the mean by the posterior's std, which is below the prior's 1
    assert 0.0 < np.abs(a - mean).mean() < 1.0


def test_sample_is_seeded_and_leaves_the_callers_random_state(model, vae):
    before = torch.get_rng_state()
    for m in (model, vae):
        s = m.sample(16, seed=3)
        assert s.shape == (16, 1, 28, 28) and s.dtype == np.float32 and 0 <= s.min() and s.max() <= 1
        assert np.array_equal(s, m.sample(16, seed=3))
        assert not np.array_equal(s, m.sample(16, seed=4))
    assert torch.equal(torch.get_rng_state(), before)
    assert "fitted to the training" in model.sample_source and "N(0, I)" in vae.sample_source


def test_batching_converts_one_batch_at_a_time_and_changes_no_number(model, monkeypatch):
    images = held_out_images()[0]                       # 300 images
    whole = model.encode(images)
    seen = []
    original = inputs_module.Images.chunk_of
    monkeypatch.setattr(inputs_module.Images, "chunk_of",
                        staticmethod(lambda part: seen.append(len(part)) or original(part)))
    monkeypatch.setattr(model, "batch_size", 64)
    assert np.allclose(model.encode(images), whole, atol=1e-5)
    assert max(seen) == 64 and sum(seen) == 300
    seen.clear()
    model.reconstruct_and_score(images)
    assert max(seen) == 64


BAD_IMAGES = [
    ("wrong size", lambda d: d[:, :20, :], "the model reads 28x28 images, got 20x28"),
    ("wrong channels", lambda d: np.repeat(d[..., None], 3, -1), "the model reads 1-channel images, got 3"),
    ("floats above 1", lambda d: d.astype(np.float32), "outside the data range"),
    ("negative floats", lambda d: d.astype(np.float32) / 255 - 0.5, "outside the data range"),
    ("ints above 255", lambda d: d.astype(np.int64) * 2, "outside the data range"),
    ("NaN", lambda d: np.where(np.arange(28) == 3, np.nan, d / 255.0), "NaN or infinite"),
    ("Inf", lambda d: np.where(np.arange(28) == 3, np.inf, d / 255.0), "NaN or infinite"),
    ("empty batch", lambda d: d[:0], "empty batch"),
    ("empty list", lambda d: [], "empty list"),
    ("5-d", lambda d: d[None, None], "5 dims"),
    ("strings", lambda d: np.array(["a", "b"]), "<U1"),
    ("a dict", lambda d: {"x": d}, "got dict"),
    ("missing file", lambda d: "/nonexistent/digit.png", "not found"),
]


@pytest.mark.parametrize("what,make,needle", BAD_IMAGES, ids=[b[0] for b in BAD_IMAGES])
def test_bad_images_get_one_line_naming_what_was_expected_and_given(model, digits, what, make, needle):
    with pytest.raises(AekitError) as err:
        model.reconstruct(make(digits[:4]))
    message = str(err.value)
    assert needle in message and "\n" not in message


@pytest.mark.parametrize("codes,needle", [
    (np.zeros((3, 5), np.float32), "expected [N, 20] or [20]; got shape [3, 5]"),
    (np.zeros((0, 20), np.float32), "empty batch"),
    (np.full((2, 20), np.nan, np.float32), "NaN or infinite"),
    (np.zeros((2, 20), bool), "bool"),
])
def test_bad_codes_get_one_line(model, codes, needle):
    with pytest.raises(AekitError) as err:
        model.decode(codes)
    assert needle in str(err.value)


def test_bad_model_sources_get_one_line(tmp_path):
    for source, needle in [(tmp_path / "nothing", "not found"), (tmp_path, "holds no model.safetensors"),
                           ("pretrained:mnist-va", "did you mean 'pretrained:mnist-vae'"), (3, "got int")]:
        with pytest.raises(AekitError, match=needle):
            aekit.load(source)


def _status(key: str) -> int:
    """A /proc/self/status figure in bytes (VmRSS: now, VmHWM: the peak since the last reset)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))


def test_a_call_on_60000_images_holds_one_batch_of_floats_not_all_of_them(model):
    if not Path("/proc/self/clear_refs").exists():
        pytest.fail("needs Linux's /proc/self/clear_refs to measure the peak memory of one call")
    images = aekit.load_dataset("mnist", val_fraction=0.0).train.images    # uint8, 47 MB
    assert len(images) == 60_000
    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")                        # the peak starts again from now
    recon = model.reconstruct(images)
    codes = model.encode(images)
    grown = _status("VmHWM") - before
    outputs = recon.nbytes + codes.nbytes                                   # 47 MB + 4.8 MB
    # All 60,000 images as floats would be 188 MB, and their reconstructions as many again.
    # Measured (2026-11-30, this file): the peak grew 83 MB for 49 MB of outputs, the rest one
    # batch's temporaries (1000 images: float32 and float64 copies for the error).
    assert grown < outputs + 64 * 2**20, (grown / 2**20, outputs / 2**20)
    assert recon.dtype == torch.uint8 and recon.shape == images.shape


def test_an_rgb_model_reads_channels_first_or_last_and_converts_grey_files(tmp_path):
    model = aekit.load(trained_run("fashion-ae-rgb"))
    assert model.input_shape == (3, 28, 28)
    digits = held_out_images()[0][:8]
    nchw = np.repeat(digits[:, None], 3, 1)                       # uint8 [8, 3, 28, 28]
    reference = model.reconstruct(nchw)
    assert reference.shape == (8, 3, 28, 28) and reference.dtype == np.uint8
    nhwc = model.reconstruct(np.ascontiguousarray(nchw.transpose(0, 2, 3, 1)))
    assert nhwc.shape == (8, 28, 28, 3) and np.array_equal(nhwc, reference.transpose(0, 2, 3, 1))
    assert np.array_equal(model.reconstruct(nchw[2]), reference[2])                          # [C, H, W]
    assert np.array_equal(model.reconstruct(nchw[2].transpose(1, 2, 0)), reference[2].transpose(1, 2, 0))
    Image.fromarray(digits[2]).save(tmp_path / "grey.png")        # a grey file: read as RGB [H, W, 3]
    assert np.array_equal(model.reconstruct(tmp_path / "grey.png"), reference[2].transpose(1, 2, 0))
    with pytest.raises(AekitError, match="reads 3-channel images, got 1 channels"):
        model.reconstruct(digits)                                  # [N, H, W]: grey images


def test_a_model_file_away_from_its_run_finds_its_data_by_name_or_says_it_cannot(tmp_path):
    import json
    import shutil

    run = trained_run("fashion-ae")
    for suffix in (".safetensors", ".json"):
        shutil.copy(run / f"model{suffix}", tmp_path / f"moved{suffix}")
    moved = aekit.load(tmp_path / "moved.json")
    assert moved.run_dir is None and moved.data.name == aekit.load(run).data.name and not moved.data.exact
    assert "defaults" in moved.data.describe()
    assert moved.sample(4, seed=0).shape == (4, 1, 28, 28)          # fitted on the named data's default split
    meta = json.loads((tmp_path / "moved.json").read_text())
    del meta["data"]
    (tmp_path / "moved.json").write_text(json.dumps(meta))
    with pytest.raises(AekitError, match="names no training data"):
        aekit.load(tmp_path / "moved.safetensors").sample(4)
