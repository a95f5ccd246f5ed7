"""Model files: safetensors + JSON, exact round trip, clear errors, and never
a half-written file."""

from __future__ import annotations

import json
import struct

import pytest
import torch

from aekit.errors import AekitError
from aekit.io import load_model, save_model
from aekit.io import model_file
from aekit.models import Autoencoder
from aekit.training.config import resolve_config


def make_model(preset="fashion-ae"):
    cfg = resolve_config(preset).model
    cfg.input_shape = [1, 28, 28]
    torch.manual_seed(0)
    return Autoencoder(cfg)


def test_round_trip_is_exact_and_not_pickle(tmp_path):
    model = make_model().eval()
    save_model(model, tmp_path)
    raw = (tmp_path / "model.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    assert raw[8:9] == b"{" and json.loads(raw[8:8 + header_len])  # a safetensors header, not a pickle
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["format"] == "aekit.model" and meta["config"]["bottleneck"]["dim"] == 20
    for path in (tmp_path, tmp_path / "model.safetensors", tmp_path / "model.json"):
        again = load_model(path)
        x = torch.rand(4, 1, 28, 28)
        with torch.no_grad():
            assert torch.equal(model(x), again(x))


def test_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    save_model(make_model(), tmp_path)
    before = (tmp_path / "model.safetensors").read_bytes()

    def broken(state, path, metadata=None):
        with open(path, "wb") as f:
            f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(model_file, "save_file", broken)
    with pytest.raises(OSError):
        save_model(make_model("dense-ae-32"), tmp_path)
    assert (tmp_path / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.safetensors"]


def test_damaged_files_give_one_line_errors(tmp_path):
    save_model(make_model(), tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(AekitError, match="unreadable.*damaged") as err:
        load_model(tmp_path)
    assert "\n" not in str(err.value)
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(AekitError, match="not valid JSON"):
        load_model(tmp_path)
    (tmp_path / "model.json").unlink()
    with pytest.raises(AekitError, match="model.json not found"):
        load_model(tmp_path)


def test_weights_that_do_not_match_the_config_are_refused(tmp_path):
    save_model(make_model(), tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["config"]["bottleneck"]["dim"] = 7
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(AekitError, match="do not match model.json"):
        load_model(tmp_path)
