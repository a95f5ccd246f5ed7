"""The shipped pretrained models: they load offline, their weights are the
ones their cards name, they reconstruct real test images better than PCA at
their code size and far better than the mean image, the jobs take
`pretrained:NAME` without the dataset, and the build command is deterministic."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import aekit
from aekit.apps.figures import spread
from aekit.cli.main import cli
from aekit.data import load_dataset
from aekit.errors import AekitError
from aekit.io import load_model, model_hash
from aekit.metrics.pca import PCA
from aekit.pretrained import card, folder, names
from aekit.pretrained.build import build
from helpers import cli_ok as ok

SHIPPED = ["fashion-ae", "mnist-2d", "mnist-vae"]
TEST_IMAGES = 2_000     # spread through each test split
PCA_FIT_IMAGES = 10_000  # spread through each training split: PCA's covariance on all 60k costs seconds


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """No dataset reachable: an empty data folder, downloads forbidden."""
    monkeypatch.setenv("AEKIT_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("AEKIT_OFFLINE", "1")
    return tmp_path




def test_every_shipped_model_loads_offline_with_the_weights_its_card_names(no_data):
    assert names() == SHIPPED
    for name in SHIPPED:
        c = card(name)
        model = aekit.load(f"pretrained:{name}")
        assert model_hash(model.autoencoder) == c["weights_sha256"]
        file = folder(name) / "model.safetensors"
        assert hashlib.sha256(file.read_bytes()).hexdigest() == c["file_sha256"]
        assert model.training_codes.shape == (c["codes"]["images"], model.code_dim)
        assert model.training_scores.shape == (c["codes"]["images"],)
        assert not c["recipe"]["overridden"]
        assert model_hash(load_model(f"pretrained:{name}")) == c["weights_sha256"]   # the io layer's door too
    sizes = sum(p.stat().st_size for name in SHIPPED for p in folder(name).iterdir())
    assert sizes < 6e6, f"the pretrained models take {sizes / 1e6:.1f} MB: keep the package small"


@pytest.mark.parametrize("name, data", [("mnist-2d", "mnist"), ("mnist-vae", "binarized-mnist"),
                                        ("fashion-ae", "fashion-mnist")])
def test_it_reconstructs_real_test_images_better_than_pca_and_far_better_than_the_mean(name, data):
    model = aekit.load(f"pretrained:{name}")
    dataset = load_dataset(data)
    test = dataset.test.images[spread(len(dataset.test.images), TEST_IMAGES)]
    train = dataset.train.images[spread(len(dataset.train.images), PCA_FIT_IMAGES)]
    ours = float(model.anomaly_score(test.numpy()).mean())
    x = test.to(torch.float64) / 255
    pca = float((PCA(model.code_dim).fit(train).reconstruct(test) - x).pow(2).flatten(1).sum(1).mean())
    mean = float((train.to(torch.float64).mean(0) / 255 - x).pow(2).flatten(1).sum(1).mean())
    # Measured 2026-11-30 (these 2,000 test images, PCA fitted on 10,000 training images), error/image:
    # mnist-2d 35.7 vs PCA-2 43.1, mean image 52.7; mnist-vae 20.1 vs PCA-20 30.8, mean 67.4;
    # fashion-ae 11.5 vs PCA-20 14.2, mean 66.5. The weights are fixed, so these do not drift.
    assert ours < pca, f"{name}: error/image {ours:.2f}, PCA at code size {pca:.2f}"
    assert ours < 0.75 * mean, f"{name}: error/image {ours:.2f}, the mean image's {mean:.2f}"
    # The card's figure (whole test split) agrees with what the shipped weights give here.
    assert ours == pytest.approx(card(name)["test"]["sse_per_image"], rel=0.05)


def test_jobs_take_a_pretrained_model_without_the_dataset(no_data):
    out = no_data
    listing = ok("pretrained").splitlines()
    assert [line.split()[0] for line in listing] == [f"pretrained:{n}" for n in SHIPPED]
    ok("reconstruct", "pretrained:mnist-2d", "digits-sample", "-o", out / "rec", "-n", 5)
    recon = np.load(out / "rec" / "reconstructions.npy")
    assert recon.shape == (1000, 1, 28, 28)
    ok("encode", "pretrained:mnist-2d", "digits-sample", "-o", out / "codes.npy")
    codes = np.load(out / "codes.npy")
    assert codes.shape == (1000, 2) and codes.std(0).min() > 0.1   # a spread 2-d map, not a collapsed one
    ok("sample", "pretrained:mnist-2d", "-n", 8, "-o", out / "sample.png")
    ok("manifold", "pretrained:mnist-2d", "-n", 5, "-o", out / "manifold.png")
    grid = np.asarray(Image.open(out / "manifold.png"))
    assert grid.shape[:2] == (140, 140) and grid.std() > 20   # 5x5 digits, not a blank grid
    ok("latent-map", "pretrained:mnist-2d", "--data", "digits-sample", "-o", out / "map.png")
    assert (out / "map.csv").read_text().count("\n") == 1001
    shown = ok("anomaly", "pretrained:mnist-2d", "digits-sample", "-o", out / "scores.csv")
    # The 0.99 quantile of the shipped training scores: 12 of these 1,000 test digits above it (measured).
    assert "2000 training images shipped with pretrained:mnist-2d" in shown
    assert 3 <= (out / "scores.csv").read_text().count(",1\n") <= 30
    shown = ok("sample", "pretrained:mnist-vae", "-n", 4, "-o", out / "vae.png")
    assert "N(0, I)" in shown
    info = ok("info", "pretrained:fashion-ae")
    assert "source: pretrained:fashion-ae" in info and "pca_sse_per_image" in info


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_latent_map_of_a_pretrained_model_takes_the_shipped_digits_without_a_download(no_data, monkeypatch,
                                                                                     offline):
    """Its data (MNIST) not on disk: digits-sample instead, one warning line, and no download tried
    even where one is allowed."""
    from aekit.data import download

    def no_network(*args, **kwargs):
        raise AssertionError("latent-map tried to download")

    monkeypatch.setattr(download.urllib.request, "urlopen", no_network)
    if not offline:
        monkeypatch.delenv("AEKIT_OFFLINE")
    result = CliRunner().invoke(cli, ["latent-map", "pretrained:mnist-2d", "-o", str(no_data / "map.png")])
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warning.startswith("aekit: warning: mapping digits-sample (the MNIST digits shipped offline) instead: ")
    assert "1000 images of the test split of digits-sample" in result.stdout
    assert (no_data / "map.csv").read_text().count("\n") == 1001


def test_an_unknown_name_is_one_line_with_the_closest_and_the_list():
    with pytest.raises(AekitError) as err:
        aekit.load("pretrained:mnist2d")
    message = str(err.value)
    assert "(did you mean 'pretrained:mnist-2d'?)" in message and "fashion-ae, mnist-2d, mnist-vae" in message
    assert "\n" not in message
    with pytest.raises(AekitError, match="ships one set of weights"):
        aekit.load("pretrained:mnist-2d", best=True)
    result = CliRunner().invoke(cli, ["sample", "pretrained:nope", "-o", "x.png"])
    assert result.exit_code == 2 and "no such pretrained model" in result.output


def test_a_build_never_overwrites_the_shipped_model_by_accident(tmp_path, monkeypatch):
    import aekit.pretrained.build as building

    package = tmp_path / "package"   # a copy of the package's folder, so that a regression harms no checkout
    shutil.copytree(folder("fashion-ae"), package / "fashion-ae")
    monkeypatch.setattr(building, "ROOT", package)
    shipped = sorted((p.name, p.read_bytes()) for p in (package / "fashion-ae").iterdir())
    result = CliRunner().invoke(cli, ["pretrained", "build", "fashion-ae", "--epochs", "1", "--data", "digits-sample"])
    assert result.exit_code != 0 and result.output.count("\n") == 1 and "give --out DIR" in result.output
    assert sorted((p.name, p.read_bytes()) for p in (package / "fashion-ae").iterdir()) == shipped
    result = CliRunner().invoke(cli, ["pretrained", "build", "fashon-ae", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "(did you mean 'fashion-ae'?)" in result.output

    # Killed between the swap's two renames: the model is only .NAME.old; the next build puts it back first
    # (here one that then fails at once, on its data).
    aside = tmp_path / ".fashion-ae.old"
    aside.mkdir()
    (aside / "card.json").write_text("{}")
    with pytest.raises(AekitError, match="unknown dataset"):
        build("fashion-ae", out=tmp_path, epochs=1, data="no-such-data", log=lambda *_: None)
    assert (tmp_path / "fashion-ae" / "card.json").read_text() == "{}" and not aside.exists()


def test_the_build_command_gives_bit_identical_weights(tmp_path):
    """The recipe on a tiny budget (1 epoch of digits-sample), built twice: the same bytes."""
    built = [build("fashion-ae", out=tmp_path / f"b{i}", epochs=1, data="digits-sample", log=lambda *_: None)
             for i in range(2)]
    cards = [json.loads((b / "card.json").read_text()) for b in built]
    assert cards[0]["weights_sha256"] == cards[1]["weights_sha256"]
    assert cards[0]["file_sha256"] == cards[1]["file_sha256"]
    assert (built[0] / "codes.safetensors").read_bytes() == (built[1] / "codes.safetensors").read_bytes()
    assert cards[0]["recipe"] == {"preset": "fashion-ae", "data": "digits-sample", "epochs": 1, "seed": 0,
                                  "overridden": True}
    assert model_hash(aekit.load(built[0]).autoencoder) == cards[0]["weights_sha256"]
    assert sorted(p.name for p in (tmp_path / "b0").iterdir()) == ["fashion-ae"]   # no scratch left behind
