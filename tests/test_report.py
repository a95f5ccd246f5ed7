"""RUN/report.html and the comparison page, on two real one-epoch runs on
digits-sample (a plain AE and a VAE): what `aekit train` and `aekit evaluate`
leave, what the page holds, and how it looks in a real browser (no console
errors, every image decoded, no sideways scrolling on a phone)."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

import aekit
from aekit.cli.main import cli
from browser import chromium_page

PHONE = 390   # CSS pixels: a phone's viewport width


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"ae": (folder, result), "vae": (folder, result)}: `aekit train` of one epoch each.
    The VAE's report.html is a folder before it trains, so its report cannot be written."""
    root = tmp_path_factory.mktemp("runs")
    (root / "vae" / "report.html").mkdir(parents=True)
    out = {}
    for kind, preset in (("ae", "fashion-ae"), ("vae", "vae-kingma")):
        result = _cli("train", "--preset", preset, "--data", "digits-sample", "--epochs", 1, "--device", "cpu",
                      "--out", root / kind)
        assert result.exit_code == 0, result.output
        if (root / kind / "report.html").is_file():
            # The page as training wrote it: under xdist's worksteal the tests of this module may run out of
            # order, and test_evaluate_refreshes_... rewrites report.html.
            shutil.copy(root / kind / "report.html", root / f"{kind}-as-trained.html")
        out[kind] = (root / kind, result)
    return out


@pytest.fixture(scope="module")
def compare_page(runs, tmp_path_factory):
    path = tmp_path_factory.mktemp("compare") / "compare.html"
    result = _cli("report", runs["ae"][0], runs["vae"][0], "-o", path)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"report: {path}"
    return path


def _images(text: str) -> list[Image.Image]:
    """Every <img>'s picture, decoded from its data: URI (the page must have no other kind)."""
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', text)
    assert len(sources) == text.count("<img"), "an <img> without a src"
    images = []
    for src in sources:
        assert src.startswith("data:image/png;base64,"), src[:60]
        image = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        image.load()
        images.append(image)
    return images


def _self_contained(text: str) -> None:
    assert not re.search(r'(src|href)\s*=\s*"?(https?:)?//', text, re.I), "a resource fetched from the network"
    assert "<script" not in text and "<link" not in text and "@import" not in text and "url(" not in text


def _sections(text: str) -> list[str]:
    return re.findall(r"<section[^>]*><h2>([^<]*)</h2>", text)


def test_train_writes_the_report_and_names_it_last(runs):
    folder, result = runs["ae"]
    report = folder / "report.html"
    assert result.stdout.strip().splitlines()[-1] == f"report: {report}"
    text = (folder.parent / "ae-as-trained.html").read_text()
    _self_contained(text)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert _sections(text) == ["Loss curves", "Reconstructions", "Samples", "Interpolation", "Manifold", "Latent map",
                               "Timings and throughput", "Config"]   # no evaluation.json yet: no Evaluation
    images = _images(text)
    assert len(images) == 6 and all(min(image.size) > 50 for image in images)
    # Real, different pictures: no two alike, none a blank page.
    pixels = [np.asarray(image.convert("L"), dtype=np.float64) for image in images]
    assert all(p.std() > 10 for p in pixels), [p.std() for p in pixels]
    assert len({image.tobytes() for image in images}) == 6
    # The figures are the run's: its last losses, its config, its epoch's time.
    last = json.loads((folder / "metrics.jsonl").read_text().splitlines()[-1])
    assert f"train {last['train_loss']:.4f}, validation {last['val_loss']:.4f}" in text
    assert f"<td>{last['seconds']:.2f}</td>" in text
    assert yaml.safe_load((folder / "config.yaml").read_text())["preset"] == "fashion-ae"
    assert "preset: fashion-ae" in text and "dim: 20" in text
    # A plain AE has no prior: the caption says where its samples come from.
    assert "drawn from a Gaussian fitted to the training images&#x27; codes" in text


def test_evaluate_refreshes_the_report_with_the_table_beside_pca(runs):
    folder, _ = runs["ae"]
    result = _cli("evaluate", folder, "--limit", 300, "--no-probes")
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines()[-1] == f"report: {folder / 'report.html'}"
    record = json.loads((folder / "evaluation.json").read_text())
    text = (folder / "report.html").read_text()
    assert _sections(text).count("Evaluation") == 1
    recon = record["reconstruction"]
    assert "<th>PCA-20</th>" in text and "<th>model/PCA</th>" in text
    assert (f"<td>squared error / image</td><td>{recon['model']['sse']:.4f}</td><td>{recon['pca']['sse']:.4f}</td>"
            in text)
    assert len(_images(text)) == 6


def test_a_report_that_cannot_be_written_leaves_the_run_complete_and_warns_once(runs):
    folder, result = runs["vae"]
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and f"{folder / 'report.html'} not written" in warnings[0], result.stderr
    assert f"aekit report {folder}" in warnings[0]   # how to retry
    assert result.stdout.strip().splitlines()[-1].startswith("trained vae-kingma for 1 epoch, ")   # not "1 epochs"
    for name in ("config.yaml", "metrics.jsonl", "model.safetensors", "model.json", "best.safetensors", "loss.png"):
        assert (folder / name).is_file(), name
    assert aekit.load(folder).kind == "vae"
    # Written elsewhere, the VAE's report samples from its prior and needs no training codes for it.
    path = aekit.report(folder, out=folder / "elsewhere.html")
    text = path.read_text()
    assert "drawn from N(0, I), the VAE&#x27;s prior" in text and "slerp path" in text


def test_unloadable_data_leaves_one_line_per_section_and_the_rest(runs, tmp_path):
    folder = tmp_path / "moved"
    shutil.copytree(runs["ae"][0], folder, ignore=shutil.ignore_patterns("checkpoint", "report.html"))
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config["data"]["name"] = str(tmp_path / "gone.npy")
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    import aekit.reporting.run_page   # no submodule import shadows the function

    assert callable(aekit.report) and "report" in aekit.__all__
    text = aekit.report(folder).read_text()
    reason = f"not drawn: the run&#x27;s data ({tmp_path / 'gone.npy'}) could not be loaded"
    assert text.count(reason) == 5, text   # reconstructions, samples, interpolation, manifold, latent map
    assert len(_images(text)) == 1   # the loss curves
    assert "Loss curves" in _sections(text) and "Timings and throughput" in _sections(text)


def test_the_compare_page_holds_both_runs(runs, compare_page):
    text = compare_page.read_text()
    _self_contained(text)
    for kind in ("ae", "vae"):
        folder = runs[kind][0]
        last = json.loads((folder / "metrics.jsonl").read_text().splitlines()[-1])
        params = sum(p.numel() for p in aekit.load(folder).autoencoder.parameters())
        assert re.search(rf"<tr><td>{kind}</td><td>{kind}, 20-d code</td><td>digits-sample</td><td>1</td>"
                         rf"<td>{last['val_loss']:.4f}</td><td>{last['val_loss']:.4f} \(1\)</td><td>{params:,}</td>",
                         text), kind
    assert len(_images(text)) == 1   # the curves, overlaid


def _look(browser, path, name: str, images: int) -> None:
    """At a desktop's width, then a phone's: the page loads cleanly and fits."""
    for width in (1280, PHONE):
        browser.page.set_viewport_size({"width": width, "height": 900})
        browser.page.goto(path.resolve().as_uri())
        widths = browser.page.evaluate("[...document.images].map(i => i.complete ? i.naturalWidth : 0)")
        scroll, inner = browser.page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        browser.screenshot(f"{name}-{'phone' if width == PHONE else 'desktop'}")
        assert browser.errors == []
        assert len(widths) == images and all(w > 0 for w in widths), widths
        assert inner == width and scroll <= inner, (width, scroll, inner)   # nothing wider than the screen


def test_report_and_compare_page_in_a_real_browser(runs, compare_page):
    with chromium_page() as browser:
        _look(browser, runs["ae"][0] / "report.html", "report", 6)
        _look(browser, compare_page, "compare", 1)


def test_bad_input_is_one_line(runs, tmp_path):
    def one_line(*args, needle):
        result = _cli(*args)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("aekit: error: ") and needle in lines[0], result.stderr

    one_line("report", tmp_path / "nothing", needle="is not a run folder")
    one_line("report", runs["ae"][0], runs["vae"][0], needle="name it with -o FILE.html")
    broken = tmp_path / "broken"
    shutil.copytree(runs["ae"][0], broken, ignore=shutil.ignore_patterns("checkpoint"))
    (broken / "metrics.jsonl").write_text('{"epoch": 1, "train_')
    one_line("report", broken, needle="metrics.jsonl is not valid JSON")
    assert (broken / "report.html").read_text() == (runs["ae"][0] / "report.html").read_text()   # untouched
