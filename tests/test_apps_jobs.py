"""The jobs' Python calls (aekit.apps.*) on runs trained briefly on real
digits: what they write is checked against independent computations."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
from PIL import Image

import aekit
from aekit.apps.anomaly import AUTO_QUANTILE, anomaly_job
from aekit.apps.codes import path as code_path
from aekit.apps.denoise import denoise_job
from aekit.apps.encode import decode_job, encode_job
from aekit.apps.figures import histogram_edge
from aekit.apps.info import info
from aekit.apps.interpolate import interpolate_job
from aekit.apps.latent_map import latent_map_job
from aekit.apps.manifold import manifold_job
from aekit.apps.reconstruct import reconstruct_job
from aekit.apps.sample import sample_job
from aekit.metrics import reconstruct as metrics_reconstruct
from test_apps_support import held_out_images, trained_run


@pytest.fixture(scope="module")
def ae():
    return aekit.load(trained_run("fashion-ae"))


@pytest.fixture(scope="module")
def vae():
    return aekit.load(trained_run("vae-kingma"))


@pytest.fixture(scope="module")
def aae():
    return aekit.load(trained_run("aae"))


@pytest.fixture(scope="module")
def test_split():
    return held_out_images()   # uint8 [300, 28, 28], labels [300]


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_reconstruct_writes_rows_errors_and_reconstructions(ae, test_split, tmp_path):
    images = test_split[0]
    result = reconstruct_job(ae, images, tmp_path, n_show=8)
    direct = metrics_reconstruct(ae.autoencoder, torch.from_numpy(images[:, None])).numpy()
    expected_errors = ((direct.astype(np.float64) - images[:, None] / 255.0) ** 2).reshape(300, -1).sum(1)
    rows = _csv(tmp_path / "errors.csv")
    assert [int(r["index"]) for r in rows] == list(range(300))
    assert np.allclose([float(r["squared_error"]) for r in rows], expected_errors, rtol=1e-5)
    saved = np.load(tmp_path / "reconstructions.npy")
    assert saved.dtype == np.uint8 and saved.shape == (300, 1, 28, 28)
    assert np.abs(saved / 255.0 - direct).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(result.reconstructions, saved) and np.allclose(result.errors, expected_errors, rtol=1e-5)
    assert result.files["figure"] == tmp_path / "reconstruction.png"
    with Image.open(tmp_path / "reconstruction.png") as png:
        assert png.width > 8 * 28 and png.height >= 3 * 28   # three rows of eight


def test_encode_and_decode_files_round_trip_to_the_reconstructions(ae, test_split, tmp_path):
    images = test_split[0][:50]
    codes = encode_job(ae, images, tmp_path / "codes.npy")
    saved = np.load(tmp_path / "codes.npy")
    assert saved.shape == (50, 20) and saved.dtype == np.float32 and np.array_equal(saved, codes)
    decoded = decode_job(ae, tmp_path / "codes.npy", tmp_path / "dec")
    assert np.array_equal(np.load(tmp_path / "dec" / "images.npy"), decoded.images)
    assert np.array_equal(decoded.images, ae.reconstruct(images[:, None]))
    assert (tmp_path / "dec" / "grid.png").exists()


def test_denoise_with_added_noise_recovers_psnr_and_is_seeded(ae, test_split, tmp_path):
    images = test_split[0][:100]
    result = denoise_job(ae, images, tmp_path, noise="gaussian:0.5", seed=1, n_show=6)
    again = denoise_job(ae, images, tmp_path / "again", noise="gaussian:0.5", seed=1)
    assert np.array_equal(result.noisy, again.noisy) and np.array_equal(result.denoised, again.denoised)
    noisy = result.noisy.astype(np.float64) / 255
    clean = images[:, None] / 255.0
    assert 0.2 < np.abs(noisy - clean).mean() < 0.5        # sigma 0.5, clipped: real noise was added
    assert np.array_equal(result.denoised, ae.reconstruct(result.noisy))   # what noisy.npy holds is what was denoised
    # measured: 9.34 dB noisy, 12.03 dB denoised (a plain AE, 8 short epochs: not trained as a denoiser)
    assert result.psnr_denoised > result.psnr_noisy + 1, (result.psnr_noisy, result.psnr_denoised)
    assert np.array_equal(np.load(tmp_path / "noisy.npy"), result.noisy)
    given = denoise_job(ae, result.noisy, tmp_path / "given")   # already noisy: taken as they are
    assert given.psnr_noisy is None and np.array_equal(given.denoised, result.denoised)


def test_sample_draws_from_the_prior_each_kind_of_model_has(ae, vae, aae, tmp_path):
    vae_codes = vae.sample_codes(4000, seed=0)
    assert abs(float(vae_codes.mean())) < 0.05 and abs(float(vae_codes.std()) - 1) < 0.05
    aae_codes = aae.sample_codes(4000, seed=0)
    prior = aae.autoencoder.regularisers[0].prior
    assert float(torch.cdist(aae_codes, prior.centres).min(1).values.mean()) < 3 * prior.std
    ae_codes = ae.sample_codes(4000, seed=0)
    train_codes = ae.encode(ae.data.load().train.images)
    assert np.allclose(ae_codes.mean(0).numpy(), train_codes.mean(0), atol=0.1 * train_codes.std(0).max())
    assert np.allclose(np.cov(ae_codes.numpy().T), np.cov(train_codes.T), atol=0.15 * np.cov(train_codes.T).max())
    result = sample_job(vae, 10, tmp_path / "grid.png", seed=0)
    assert result.images.shape == (10, 1, 28, 28) and "N(0, I)" in result.source
    with Image.open(tmp_path / "grid.png") as png:
        assert png.size == (4 * 58 + 2, 3 * 58 + 2)   # the smallest square holding 10: 4 a row, 3 rows


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_interpolation_ends_are_the_reconstructions_of_its_ends(vae, test_split, tmp_path, method):
    a, b = test_split[0][0], test_split[0][1]
    strip = interpolate_job(vae, a, b, tmp_path / "strip.png", steps=7, method=method)
    ends = vae.reconstruct(np.stack([a, b]).astype(np.float32) / 255)
    assert strip.images.shape == (7, 1, 28, 28)
    assert np.allclose(strip.images[0, 0], ends[0], atol=1e-6) and np.allclose(strip.images[-1, 0], ends[1], atol=1e-6)
    za, zb = vae.encode(a), vae.encode(b)
    codes = code_path(torch.from_numpy(za), torch.from_numpy(zb), 7, method).numpy()
    if method == "linear":
        assert np.allclose(codes[3], (za + zb) / 2, atol=1e-5)
    else:   # on the great circle, the norm moving linearly between the ends'
        assert np.isclose(np.linalg.norm(codes[3]), (np.linalg.norm(za) + np.linalg.norm(zb)) / 2, rtol=1e-4)
    in_type = vae.interpolate(torch.from_numpy(a), torch.from_numpy(b), steps=3, method=method)
    assert isinstance(in_type, torch.Tensor) and in_type.dtype == torch.uint8 and in_type.shape == (3, 28, 28)


def test_latent_map_draws_the_codes_themselves_or_their_principal_axes(aae, ae, test_split, tmp_path):
    images, labels = test_split
    two = latent_map_job(aae, images, labels, [str(d) for d in range(10)], tmp_path / "map2.png")
    assert two.method == "codes" and np.array_equal(two.coords, aae.encode(images).astype(np.float64))
    many = latent_map_job(ae, images, labels, None, tmp_path / "map20.png", method="pca")
    codes = ae.encode(images).astype(np.float64)
    centred = codes - codes.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:2].T
    assert np.allclose(np.abs(many.coords), np.abs(expected), atol=1e-6)   # axes up to sign
    rows = _csv(tmp_path / "map20.csv")
    assert [int(r["label"]) for r in rows] == labels.tolist()
    assert np.allclose([[float(r["x"]), float(r["y"])] for r in rows], many.coords)
    with Image.open(tmp_path / "map20.png") as png:
        assert png.size == (700, 600)


def test_latent_map_tsne_keeps_neighbours_of_a_label_together(ae, test_split, tmp_path):
    images, labels = test_split
    result = latent_map_job(ae, images, labels, None, tmp_path / "tsne.png", method="tsne", seed=0)
    assert result.method == "tsne" and result.coords.shape == (300, 2)
    dist = ((result.coords[:, None] - result.coords[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    same = (labels[dist.argmin(1)] == labels).mean()
    assert same > 0.3, same   # measured 0.62; chance is ~0.1


def test_umap_without_umap_learn_says_how_to_get_it(ae, test_split):
    try:
        import umap  # noqa: F401
    except ImportError:
        with pytest.raises(aekit.AekitError, match="pip install umap-learn"):
            latent_map_job(ae, test_split[0][:50], method="umap")
    else:   # installed: it draws the codes
        assert latent_map_job(ae, test_split[0][:50], method="umap").coords.shape == (50, 2)


def test_manifold_grid_follows_the_stated_rules(vae, ae, aae, tmp_path):
    grid = manifold_job(aae, tmp_path / "aae.png", n=5)
    assert grid.plane == "code axes" and grid.images.shape == (25, 1, 28, 28)
    codes = aae.encode(aae.data.load().train.images)
    assert np.isclose(grid.xs[0], np.percentile(codes[:, 0], 1))      # left: the 1st percentile
    assert np.isclose(grid.ys[0], np.percentile(codes[:, 1], 99))     # top: the 99th
    assert np.allclose(grid.images, aae.decode(grid.codes), atol=1e-6)
    fixed = manifold_job(aae, None, n=3, span=(-5, 5))
    assert np.allclose(fixed.codes[:3], [[-5, 5], [0, 5], [5, 5]])
    gauss = manifold_job(vae, tmp_path / "vae.png", n=4)   # 20-d: the codes' two leading principal axes
    assert gauss.plane == "principal axes of the codes"
    spread = gauss.codes - gauss.codes.mean(0)
    assert np.linalg.matrix_rank(spread, tol=1e-4) == 2           # all on one plane
    q = torch.distributions.Normal(0, 1).icdf(torch.tensor([0.05, 0.95])).numpy()
    assert np.isclose(gauss.xs[-1] / gauss.xs[0], q[1] / q[0])    # symmetric Gaussian quantiles
    with Image.open(tmp_path / "vae.png") as png:
        assert png.size == (4 * 28, 4 * 28)


def test_anomaly_scores_are_the_reconstruction_errors_and_auto_flags_the_stated_share(ae, test_split, tmp_path):
    images = test_split[0]
    result = anomaly_job(ae, images, tmp_path / "scores.csv")
    direct = metrics_reconstruct(ae.autoencoder, torch.from_numpy(images[:, None])).numpy().astype(np.float64)
    expected = ((direct - images[:, None] / 255.0) ** 2).reshape(len(images), -1).sum(1)
    assert np.allclose(result.scores, expected, rtol=1e-6)
    train = ae.data.load().train.images
    train_scores = ae.anomaly_score(train).numpy()   # a tensor in, a tensor out
    assert result.threshold == pytest.approx(np.quantile(train_scores, AUTO_QUANTILE))
    share = (train_scores > result.threshold).mean()
    assert abs(share - (1 - AUTO_QUANTILE)) <= 1 / len(train_scores)   # a quantile between two scores
    # measured: 1.0% of the held-out digits flagged, 51.7% of Fashion-MNIST images
    assert result.flagged.mean() < 0.05, result.flagged.mean()   # held-out digits: like the training ones
    fashion = aekit.load_dataset("fashion-mnist").test.images[:300]
    other = anomaly_job(ae, fashion, None, threshold=result.threshold)
    assert other.flagged.mean() > 0.25, other.flagged.mean()      # clothes are not digits
    rows = _csv(tmp_path / "scores.csv")
    assert [int(r["anomalous"]) for r in rows] == result.flagged.astype(int).tolist()
    assert anomaly_job(ae, images, None, threshold=0.0).flagged.all()
    assert result.figure == tmp_path / "scores.png"   # the histogram and the highest-scoring images, beside the CSV
    with Image.open(result.figure) as png:
        assert png.format == "PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.csv", "scores.png"]


def test_anomaly_picture_takes_few_images_and_refuses_bad_settings(ae, test_split, tmp_path):
    images = test_split[0]
    few = anomaly_job(ae, images[:3], tmp_path / "few.csv", threshold=30.0, n_show=10)   # fewer than n_show
    assert len(_csv(few.file)) == 3 and few.figure.is_file()
    one = anomaly_job(ae, images[:1], tmp_path / "one.csv", threshold=30.0)
    assert len(one.scores) == 1 and one.figure.is_file()
    with pytest.raises(aekit.AekitError, match="n_show 0"):
        anomaly_job(ae, images, tmp_path / "bad.csv", threshold=30.0, n_show=0)
    with pytest.raises(aekit.AekitError, match=r"give a name such as scores\.csv"):   # its picture would replace it
        anomaly_job(ae, images, tmp_path / "bad.png", threshold=30.0)
    assert not list(tmp_path.glob("bad*"))


def test_the_score_histogram_ends_near_the_bulk_of_the_scores():
    bulk = np.arange(1000.0)
    with_outlier = np.append(bulk, 1e9)
    edge = histogram_edge([with_outlier, bulk], 10.0)   # one extreme score does not stretch the axis
    assert edge == pytest.approx(1.1 * np.quantile(with_outlier, 0.995)) and edge < 1200
    assert histogram_edge([bulk], 5000.0) == pytest.approx(5500.0)   # the threshold stays on the chart
    assert histogram_edge([np.zeros(5)], 0.0) == 1.0


def test_info_counts_every_part_and_reads_the_run(aae):
    about = info(aae)
    params = about["parameters"]
    assert params["total"] == sum(p.numel() for p in aae.autoencoder.parameters())
    assert sum(v for k, v in params.items() if k not in ("total", "used at inference")) == params["total"]
    critic = sum(p.numel() for p in aae.autoencoder.critic_parameters())
    assert critic > 0 and params["used at inference"] == params["total"] - critic
    assert about["kind"] == "aae" and about["code_size"] == 2 and about["preset"] == "aae"
    assert about["last_metrics"]["epoch"] == 10 and about["epochs"] == 10
    assert math.isfinite(about["last_metrics"]["val_loss"])
