"""The explorer's page in a real browser (Chromium through Playwright, tests/browser.py):
it loads without console errors, a slider and a click on the latent map change the decoded
image's pixels, an uploaded MNIST test digit comes back reconstructed closer to itself than
to other digits, and two chosen points give an interpolation strip. Screenshots of the page
go to test-artefacts/ (docs/images/explorer.png is one of them).

One run for the module: the dense-ae-25-elu preset (the Keras tutorial's Dense 784-25-784:
25-d codes, so eight sliders along principal axes) trained 2 epochs on digits-sample (batch
32: 225 steps; fashion-ae's batch of 512 makes 14 in 2 epochs, too few to tell digits
apart), served from a thread."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import aekit
from aekit.serve import start
from browser import chromium_page
from docgen.browser import choose_ends, interpolate, loads, map_position, open_explorer, upload, wait_loaded


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    out = tmp_path_factory.mktemp("explore-browser") / "dense-ae-25-elu"
    aekit.train("dense-ae-25-elu", data="digits-sample", epochs=2, seed=0, out=out)
    running = start(out)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def page(server):
    with chromium_page() as wrapped:
        open_explorer(wrapped.page, server.url)
        yield wrapped


def pixels(page, element_id: str) -> np.ndarray:
    """The image element's picture at its own size, grey levels 0..255 (its red channel)."""
    rgba = page.evaluate("""(id) => {
        const img = document.getElementById(id), canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const ctx = canvas.getContext("2d"); ctx.drawImage(img, 0, 0);
        return [canvas.width, canvas.height, Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data)];
    }""", element_id)
    width, height, data = rgba
    return np.array(data, dtype=np.float64).reshape(height, width, 4)[:, :, 0]


def test_page_loads_without_console_errors(page):
    p = page.page
    assert p.locator("#sliders input[type=range]").count() == 8          # 8 leading principal axes of 20-d codes
    drawn = p.evaluate("""() => { const c = document.getElementById("map");
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250) n++; return n; }""")
    assert drawn > 1000, drawn        # 1,000 test images, 3x3 pixels each, some overlapping
    assert pixels(p, "decoded").shape == (28, 28)
    assert "code 25" in p.inner_text("#model-info")
    page.screenshot("explorer")
    assert page.errors == []


def test_moving_a_slider_changes_the_decoded_image(page):
    p = page.page
    before, count = pixels(p, "decoded"), loads(p, "decoded")
    p.focus("#slider-0")
    p.keyboard.press("End")           # to the far end of the first principal axis
    wait_loaded(p, "decoded", count)
    after = pixels(p, "decoded")
    # measured: mean |change| 28 grey levels (of 255) from the mean code to the end of PC 1
    print(f"\nslider to the end of PC 1: mean |change| {np.abs(after - before).mean():.1f} grey levels")
    assert np.abs(after - before).mean() > 5
    assert page.errors == []


def test_clicking_the_latent_map_shows_a_point_and_decodes_it(page):
    p = page.page
    count = loads(p, "decoded")
    p.click("#reset-sliders")                              # the decoded image: the training codes' mean
    wait_loaded(p, "decoded", count)
    before, count = pixels(p, "decoded"), loads(p, "decoded")
    # the test image drawn farthest from the middle of the map: its decoding is far from the mean's
    far = p.evaluate("state.map.x.reduce((best, x, i, xs) => "
                     "x * x + state.map.y[i] ** 2 > xs[best] ** 2 + state.map.y[best] ** 2 ? i : best, 0)")
    p.hover("#map", position=map_position(p, far))
    p.wait_for_selector("#hover-image:not([hidden])")      # hovering shows the point's image
    p.click("#map", position=map_position(p, far))
    wait_loaded(p, "decoded", count)
    p.wait_for_function("() => document.querySelectorAll('#neighbours li').length === 8")
    after = pixels(p, "decoded")
    print(f"\nmap click: mean |change| {np.abs(after - before).mean():.1f} grey levels")
    assert np.abs(after - before).mean() > 5
    assert f"test image #{far}" in p.inner_text("#point-info")
    assert page.errors == []


def test_uploaded_digit_is_reconstructed_closer_to_itself(page, tmp_path):
    p = page.page
    test = aekit.load_dataset("mnist").test                # real MNIST test digits, never trained on
    labels = test.labels.numpy()
    digit = test.images[0, 0].numpy()                      # a 7
    others = [test.images[int(np.flatnonzero(labels == c)[0]), 0].numpy() for c in (0, 1, 3)]
    path = tmp_path / "seven.png"
    Image.fromarray(digit).save(path)
    upload(p, path)
    recon = pixels(p, "upload-recon")
    own = np.mean((recon - digit) ** 2)
    distances = [np.mean((recon - other) ** 2) for other in others]
    print(f"\nupload: squared error to itself {own:.0f}, to a 0, 1, 3: {[round(d) for d in distances]}")
    # measured: own 1,600, others 5,000-7,000 (squared grey levels)
    assert all(own < d for d in distances), (own, distances)
    assert "anomaly score" in p.inner_text("#upload-result")
    # The neighbours listed are the upload's, and the chosen-point panel says so.
    assert "the upload seven.png" in p.inner_text("#point-info")
    p.wait_for_function("document.getElementById('decoded-caption').textContent.includes('seven.png')")
    page.screenshot("explorer-upload")
    assert page.errors == []


def test_interpolation_between_two_points_shows_a_strip(page):
    p = page.page
    choose_ends(p, 3, 700)
    interpolate(p, "slerp", 10)
    strip = pixels(p, "strip")
    assert strip.shape == (1 + 28 + 1, 1 + 10 * 29)       # 10 images of 28x28 in a 1-pixel white frame
    first, last = strip[1:29, 1:29], strip[1:29, -29:-1]
    print(f"\ninterpolation: first vs last image mean |difference| {np.abs(first - last).mean():.1f}")
    assert np.abs(first - last).mean() > 5
    page.screenshot("explorer-interpolation")
    assert page.errors == []
