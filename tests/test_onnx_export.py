"""ONNX export on trained models: an MLP AE (fashion-ae), a conv AE
(conv-ae-10) and a VAE (vae-kingma), each trained for an epoch on 1,000
digits-sample images, exported, and run in onnxruntime on real test images at
batch sizes 1 and 7. Encoder and decoder outputs must match torch's within
ATOL = 1e-5 absolute. Measured on 2026-11-30 (AMD EPYC Zen 4, 2 cores;
docs/export.md has the table and the command): at most 7.2e-7 on the codes
(vae-kingma) and 2.2e-7 on the images, so the bound leaves a factor 14."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from aekit.errors import AekitError
from aekit.io import export_onnx, model_hash, save_model
from aekit.models import Autoencoder
from aekit.training.config import resolve_config
from test_family_support import train_briefly

ort = pytest.importorskip("onnxruntime", reason="pip install 'aekit[onnx]'")
onnx = pytest.importorskip("onnx", reason="pip install 'aekit[onnx]'")

ATOL = 1e-5
PRESETS = ["fashion-ae", "conv-ae-10", "vae-kingma"]
RANDOM_OPS = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"}


@pytest.fixture(scope="module", params=PRESETS)
def exported(request, tmp_path_factory):
    """(brief, run folder, export paths): a real one-epoch run and its ONNX files.
    The model is exported in training mode, to show export leaves it so."""
    brief = train_briefly(request.param, n_train=1000, epochs=1, seed=0, n_val=200,
                          sets=["data.name=digits-sample"])   # the offline MNIST digits, for every preset
    folder = tmp_path_factory.mktemp(request.param)
    save_model(brief.model, folder / "run")
    model = brief.model.train()
    before = (model_hash(model), torch.get_rng_state())
    paths = export_onnx(model, folder / "onnx")
    after = (model_hash(model), torch.get_rng_state(), model.training)
    model.eval()
    return brief, folder / "run", {**paths, "caller": (before, after)}


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_the_graphs_match_torch_on_real_test_images(exported):
    brief, _, paths = exported
    model = brief.model
    encoder, decoder = session(paths["encoder"]), session(paths["decoder"])
    images = model.preprocess(brief.dataset.test.images[:8])   # real digits, uint8 -> the model's range
    for batch in (images[:1], images[1:8]):
        with torch.no_grad():
            codes, recon = model.encode(batch), model.decode(model.encode(batch))
        got_codes = encoder.run(["codes"], {"images": batch.numpy()})[0]
        got_recon = decoder.run(["images"], {"codes": codes.numpy()})[0]
        assert got_codes.shape == (len(batch), model.code_dim) and got_codes.dtype == np.float32
        assert got_recon.shape == (len(batch), *model.input_shape)
        np.testing.assert_allclose(got_codes, codes.numpy(), rtol=0, atol=ATOL)
        np.testing.assert_allclose(got_recon, recon.numpy(), rtol=0, atol=ATOL)


def test_the_encoder_is_the_deterministic_mean_path(exported):
    """No random op in either graph (a VAE's sampling step is not exported),
    so the same images give the same codes twice; the batch axis is dynamic."""
    brief, _, paths = exported
    for role in ("encoder", "decoder"):
        graph = onnx.load(str(paths[role])).graph
        assert not {node.op_type for node in graph.node} & RANDOM_OPS
        assert graph.input[0].type.tensor_type.shape.dim[0].dim_param   # a named (dynamic) axis, not a size
    encoder = session(paths["encoder"])
    x = brief.model.preprocess(brief.dataset.test.images[:7]).numpy()
    assert np.array_equal(encoder.run(None, {"images": x})[0], encoder.run(None, {"images": x})[0])


def test_onnx_json_states_the_processing_the_graphs_need(exported):
    """From uint8 pixels to the graph and back, done as onnx.json says, in
    numpy only: the result is the model's own reconstruction in [0, 1]."""
    brief, _, paths = exported
    model = brief.model
    meta = json.loads(paths["meta"].read_text())
    assert meta["format"] == "aekit.onnx" and meta["model_sha256"] == model_hash(model)
    assert meta["input_shape"] == list(model.input_shape) and meta["code_dim"] == model.code_dim
    assert meta["encoder"]["file"] == "encoder.onnx" and meta["decoder"]["output"]["name"] == "images"
    low, high = meta["data_range"]
    pixels = brief.dataset.test.images[:7].numpy()
    x = (pixels.astype(np.float32) / 255) * (high - low) + low
    y = session(paths["decoder"]).run(None, {"codes": session(paths["encoder"]).run(None, {"images": x})[0]})[0]
    shown = np.clip((y - low) / (high - low), 0, 1)
    with torch.no_grad():
        expected = model.to_unit(model(model.preprocess(torch.from_numpy(pixels))))
    np.testing.assert_allclose(shown, expected.numpy(), rtol=0, atol=ATOL)


def test_a_symmetric_range_model_exports_with_its_range(tmp_path):
    """conv-ae works on [-1, 1] images: onnx.json says so and the graph takes them (untrained: the range only)."""
    cfg = resolve_config("conv-ae").model
    cfg.input_shape = [1, 28, 28]
    torch.manual_seed(0)
    model = Autoencoder(cfg).eval()
    paths = export_onnx(model, tmp_path)
    meta = json.loads(paths["meta"].read_text())
    assert meta["data_range"] == [-1.0, 1.0] and "x * 2 + -1" in meta["preprocess"]
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    got = session(paths["encoder"]).run(None, {"images": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, model.encode(x).numpy(), rtol=0, atol=ATOL)


def test_export_leaves_the_caller_s_model_and_random_state_alone(exported):
    (hash_before, rng_before), (hash_after, rng_after, training) = exported[2]["caller"]
    assert hash_after == hash_before and torch.equal(rng_after, rng_before) and training


@pytest.mark.parametrize("exported", ["fashion-ae"], indirect=True)   # once, on the MLP run
def test_the_cli_writes_the_files_and_prints_where(exported, tmp_path, capsys):
    brief, run, paths = exported
    from aekit.cli.main import cli

    out = tmp_path / "onnx"
    # In process (a subprocess costs ~10 s of imports here; test_model_file_errors runs `python -m aekit export`).
    cli.main(["export", str(run), "--onnx", str(out)], standalone_mode=False)
    stdout, stderr = capsys.readouterr()
    assert f"encoder: {out / 'encoder.onnx'}" in stdout and f"decoder: {out / 'decoder.onnx'}" in stdout
    assert str(out / "onnx.json") in stdout and stderr == ""
    assert sorted(p.name for p in out.iterdir()) == ["decoder.onnx", "encoder.onnx", "onnx.json"]
    x = brief.model.preprocess(brief.dataset.test.images[:7]).numpy()
    assert np.array_equal(session(out / "encoder.onnx").run(None, {"images": x})[0],
                          session(paths["encoder"]).run(None, {"images": x})[0])


def test_a_missing_onnx_package_names_the_install(monkeypatch, tmp_path, capsys):
    from aekit.cli.main import cli

    cfg = resolve_config("fashion-ae").model
    cfg.input_shape = [1, 28, 28]
    model = Autoencoder(cfg)
    save_model(model, tmp_path / "run")
    monkeypatch.setitem(sys.modules, "onnxscript", None)   # `import onnxscript` now fails
    with pytest.raises(AekitError, match=r"needs the 'onnxscript' package.*pip install 'aekit\[onnx\]'"):
        export_onnx(model, tmp_path / "out")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["export", str(tmp_path / "run"), "--onnx", str(tmp_path / "out")], standalone_mode=False)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'aekit[onnx]'" in err[0]
    assert not (tmp_path / "out").exists()


def test_an_unwritable_folder_is_one_line_before_any_export(tmp_path):
    cfg = resolve_config("fashion-ae").model
    cfg.input_shape = [1, 28, 28]
    model = Autoencoder(cfg)
    with pytest.raises(AekitError, match="cannot create the folder /proc/aekit-onnx/x .*choose a writable folder"):
        export_onnx(model, "/proc/aekit-onnx/x")
    (tmp_path / "file").write_text("")
    with pytest.raises(AekitError, match="is a file: give a folder"):
        export_onnx(model, tmp_path / "file")
