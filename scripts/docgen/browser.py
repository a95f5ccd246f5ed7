"""A real browser, for the tests and for the docs' screenshots: Playwright for
Python driving Debian's Chromium (`apt-get install -y chromium`). Playwright's
own browser download does not work on these machines, so the browser is always
the system's, named by CHROMIUM (default /usr/bin/chromium).

Here rather than in tests/ so that scripts/make_doc_images.py can drive the
explorer the way tests/test_explore_browser.py does without importing tests/
(tests/browser.py wraps this for pytest). Also the few steps of driving the
explorer's page that both take."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path


class BrowserMissing(RuntimeError):
    pass


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise BrowserMissing(f"no Chromium at {path}: install it (apt-get install -y chromium) or set CHROMIUM")
    return path


@dataclass
class Page:
    """A Playwright page, every console error and uncaught exception it raised,
    and the folder its screenshots go to."""
    page: object
    folder: Path
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        """Saves a full-page screenshot as FOLDER/NAME.png."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def chromium_page(folder: Path, width: int = 1280, height: int = 900):
    """A fresh headless Chromium page; offline (no request leaves 127.0.0.1)."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            wrapped = Page(page, Path(folder))
            page.on("console", lambda msg: msg.type == "error" and wrapped.errors.append(msg.text))
            page.on("pageerror", lambda exc: wrapped.errors.append(str(exc)))
            yield wrapped
        finally:
            browser.close()


# -- the explorer's page (aekit/serve/static) ------------------------------------------

def open_explorer(page, url: str) -> None:
    """Load the explorer at `url` and wait until its first decoded image has come."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    wait_loaded(page, "decoded", 0)


def loads(page, element_id: str) -> int:
    """How many pictures the image `element_id` has loaded (the page counts them in data-loads)."""
    return page.evaluate(f"Number(document.getElementById('{element_id}').dataset.loads || 0)")


def wait_loaded(page, element_id: str, before: int) -> None:
    """Until the image `element_id` has loaded a new picture since it had loaded `before`."""
    # a function, not a string: the page's CSP forbids the eval a string predicate needs
    page.wait_for_function("([id, n]) => Number(document.getElementById(id).dataset.loads || 0) > n",
                           arg=[element_id, before], timeout=30_000)


def map_position(page, index: int) -> dict:
    """Where test image `index` is drawn on the map canvas, in its CSS pixels."""
    x, y = page.evaluate(f"toScreen(state.view, state.map.x[{index}], state.map.y[{index}])")
    return {"x": x, "y": y}


def choose_ends(page, first: int, second: int) -> None:
    """Click test images `first` and `second` on the map and make them A and B."""
    for index, button in ((first, "#set-a"), (second, "#set-b")):
        count = loads(page, "decoded")
        page.click("#map", position=map_position(page, index))
        wait_loaded(page, "decoded", count)
        page.click(button)


def interpolate(page, method: str, steps: int) -> None:
    """Interpolate between A and B and wait for the strip."""
    page.select_option("#method", method)
    page.fill("#steps", str(steps))
    count = loads(page, "strip")
    page.click("#interpolate")
    wait_loaded(page, "strip", count)


def upload(page, path: Path) -> None:
    """Upload an image file and wait for its reconstruction."""
    count = loads(page, "upload-recon")
    page.set_input_files("#upload", str(path))
    wait_loaded(page, "upload-recon", count)
