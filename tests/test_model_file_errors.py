"""Bad model files: each gets one AekitError line that names the problem and
the fix, and nothing in them is ever unpickled. Also: format version 1 files
still load, and the content hash is the documented one."""

from __future__ import annotations

import hashlib
import json
import pickle
import struct
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from aekit.errors import AekitError
from aekit.io import load_model, model_hash, read_model_meta, save_model
from aekit.io.model_file import VERSION
from aekit.models import Autoencoder
from aekit.training.config import resolve_config


def make_model(preset="fashion-ae", seed=0):
    cfg = resolve_config(preset).model
    cfg.input_shape = [1, 28, 28]
    torch.manual_seed(seed)
    return Autoencoder(cfg).eval()


def one_line_error(path, *needles) -> str:
    with pytest.raises(AekitError) as err:
        load_model(path)
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


@pytest.fixture
def saved(tmp_path):
    model = make_model()
    save_model(model, tmp_path)
    return tmp_path, model


class Boom:
    """Would run code if unpickled: a test fails loudly if anything unpickles."""

    def __reduce__(self):
        return (pytest.fail, ("a model file was unpickled",))


@pytest.mark.parametrize("writer", ["torch.save", "torch.save legacy", "pickle"])
def test_a_pickle_given_as_a_model_is_named_and_never_unpickled(tmp_path, saved, writer):
    run, model = saved
    state = {**model.state_dict(), "boom": Boom()}
    if writer == "torch.save":
        torch.save(state, tmp_path / "model.pt")
    elif writer == "torch.save legacy":
        torch.save(state, tmp_path / "model.pt", _use_new_zipfile_serialization=False)
    else:
        (tmp_path / "model.pt").write_bytes(pickle.dumps(state, protocol=4))
    kind = "zip archive" if writer == "torch.save" else "a pickle (protocol"
    one_line_error(tmp_path / "model.pt", "is a pickle/torch.save file", kind, "aekit loads only safetensors")
    # The same bytes renamed to what a model file is called, in a run folder.
    (run / "model.safetensors").write_bytes((tmp_path / "model.pt").read_bytes())
    for path in (run, run / "model.safetensors", run / "model.json"):
        one_line_error(path, "model.safetensors is a pickle/torch.save file")


def test_missing_extra_and_mis_shaped_tensors_are_named(saved):
    run, model = saved
    state = load_file(run / "model.safetensors")
    names = sorted(state)
    dropped, reshaped = names[0], names[-1]
    state.pop(dropped)
    state["encoder.surplus.weight"] = torch.zeros(3)
    state[reshaped] = torch.zeros(*[s + 1 for s in state[reshaped].shape])
    save_file(state, run / "model.safetensors")
    message = one_line_error(run, "do not match model.json", f"missing tensors {dropped}",
                             "extra tensors encoder.surplus.weight", f"mis-shaped tensors: {reshaped} is",
                             "keep the two files of one model together")
    assert message.count(";") >= 2


def test_a_json_for_another_architecture(saved, tmp_path):
    run, _ = saved
    other = tmp_path / "other"
    save_model(make_model("conv-ae-10"), other)
    (run / "model.json").write_text((other / "model.json").read_text())
    one_line_error(run, "do not match model.json", "missing tensors", "extra tensors", "different models")
    # A JSON from another tool altogether.
    (run / "model.json").write_text(json.dumps({"architectures": ["BertModel"], "hidden_size": 768}))
    one_line_error(run, "is not an aekit model description", "format None")
    (run / "model.json").write_text("[1, 2]")
    one_line_error(run, "is not an aekit model description")


def test_a_config_this_aekit_cannot_build(saved):
    run, _ = saved
    meta = json.loads((run / "model.json").read_text())
    meta["config"]["encoder"]["type"] = "transformer-xl"
    (run / "model.json").write_text(json.dumps(meta))
    one_line_error(run, "describes a model this aekit cannot build", "transformer-xl")


def test_a_newer_format_version_says_upgrade(saved):
    run, _ = saved
    meta = json.loads((run / "model.json").read_text())
    meta["version"], meta["aekit_version"] = VERSION + 1, "9.0.0"
    (run / "model.json").write_text(json.dumps(meta))
    one_line_error(run, f"format version {VERSION + 1}", "aekit 9.0.0", "upgrade aekit")
    for bad in (None, "2", 0, True):
        meta["version"] = bad
        (run / "model.json").write_text(json.dumps(meta))
        one_line_error(run, "no valid format version")


def test_missing_or_corrupt_weights(saved):
    run, _ = saved
    weights = run / "model.safetensors"
    raw = weights.read_bytes()
    weights.write_bytes(raw[:1000])
    one_line_error(run, "model.safetensors are unreadable", "damaged")
    weights.write_bytes(b"\x00" * 64)
    one_line_error(run, "are unreadable", "not a safetensors file")
    weights.unlink()
    one_line_error(run, "model.safetensors not found", "copy it together with its .json")
    (run / "model.json").unlink()
    one_line_error(run, "holds no model", "aekit train")


def test_one_flipped_byte_in_the_weights_fails_the_content_hash(saved):
    run, model = saved
    weights = run / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    (header_len,) = struct.unpack("<Q", raw[:8])
    data_start = 8 + header_len
    raw[data_start + (len(raw) - data_start) // 2] ^= 0x01   # one bit of one weight: still a valid file
    weights.write_bytes(bytes(raw))
    assert len(load_file(weights)) == len(model.state_dict())   # safetensors itself sees nothing wrong
    one_line_error(run, "do not match the content hash in model.json", "changed or damaged")
    # A hash field that is no hash.
    save_model(model, run)
    meta = json.loads((run / "model.json").read_text())
    meta["weights_sha256"] = "abc"
    (run / "model.json").write_text(json.dumps(meta))
    one_line_error(run, "no valid weights_sha256")


def test_the_hash_is_the_documented_stream_over_the_file_s_own_bytes(saved):
    """An independent computation: the canonical stream of aekit/io/weights_hash.py,
    built from the safetensors header and raw data bytes, not through torch."""
    run, model = saved
    raw = (run / "model.safetensors").read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    header.pop("__metadata__", None)
    data = raw[8 + header_len:]
    names = {"F32": "float32", "I64": "int64", "F64": "float64", "BOOL": "bool"}
    digest = hashlib.sha256(b"aekit.weights.v1\n")
    for name in sorted(header, key=lambda n: n.encode()):
        entry = header[name]
        begin, end = entry["data_offsets"]
        shape = ",".join(str(s) for s in entry["shape"])
        digest.update(f"{name}\n{names[entry['dtype']]}\n{shape}\n{end - begin}\n".encode())
        digest.update(data[begin:end])
    meta, _ = read_model_meta(run)
    assert meta["weights_sha256"] == digest.hexdigest() == model_hash(model) == model_hash(load_model(run))
    # The same weights saved again hash the same; one changed weight does not.
    save_model(model, run / "again")
    assert read_model_meta(run / "again")[0]["weights_sha256"] == meta["weights_sha256"]
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] += 1e-3
    assert model_hash(model) != meta["weights_sha256"]


def test_format_version_1_files_still_load(saved):
    """A v1 model.json as aekit 0.1.0 wrote it before the hash (format, version,
    aekit_version, config, then the run folder's extras) loads, unchecked."""
    run, model = saved
    meta = json.loads((run / "model.json").read_text())
    v1 = {"format": "aekit.model", "version": 1, "aekit_version": "0.1.0", "config": meta["config"],
          "data": {"name": "digits-sample"}, "epoch": 3}
    (run / "model.json").write_text(json.dumps(v1, indent=2))
    again = load_model(run)
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model(x), again(x))
    assert "weights_sha256" not in read_model_meta(run)[0]
    assert model_hash(again) == meta["weights_sha256"]


def test_v2_json_records_shape_range_and_version(saved):
    run, model = saved
    meta = json.loads((run / "model.json").read_text())
    assert meta["version"] == VERSION == 2
    assert meta["input_shape"] == [1, 28, 28] and meta["data_range"] == [0.0, 1.0]
    assert meta["aekit_version"] and len(meta["weights_sha256"]) == 64


def test_a_recorded_shape_or_range_that_the_config_contradicts(saved):
    """Readers may take input_shape / data_range from the JSON without building the model: they must be true."""
    run, _ = saved
    meta = json.loads((run / "model.json").read_text())
    for key, wrong in (("input_shape", [3, 32, 32]), ("data_range", [-1.0, 1.0])):
        (run / "model.json").write_text(json.dumps({**meta, key: wrong}))
        one_line_error(run, f"says {key} {wrong!r} but its config builds", "re-save the model")


def test_the_cli_prints_the_pickle_error_as_one_line(saved, tmp_path):
    run, model = saved
    torch.save(model.state_dict(), tmp_path / "weights.pth")
    result = subprocess.run([sys.executable, "-m", "aekit", "export", str(tmp_path / "weights.pth"),
                             "--onnx", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aekit: error: ") and "pickle/torch.save" in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


def test_no_torch_load_without_weights_only_in_the_project():
    """aekit never unpickles: `torch.load` appears nowhere in src/ or benchmarks/
    but with weights_only=True."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for path in [*root.glob("src/**/*.py"), *root.glob("benchmarks/**/*.py")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "torch.load(" in line:
                assert "weights_only=True" in line, f"{path}: {line.strip()}"


def test_a_run_without_best_weights_names_the_flag_each_command_has(tmp_path):
    """The jobs take --best, evaluate --weights best, Python weights='best': none has --weights model."""
    from aekit.io.resolve import resolve_model

    (tmp_path / "config.yaml").write_text("model: {}\n")
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(AekitError) as err:
        resolve_model(tmp_path, "best")
    assert "best.safetensors not found" in str(err.value) and "--weights model" not in str(err.value)
    assert "drop --best / --weights best (evaluate) / weights='best'" in str(err.value)
