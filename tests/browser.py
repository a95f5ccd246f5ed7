"""A real browser for the tests: Playwright for Python driving Debian's
Chromium (`apt-get install -y chromium`; the README's test command installs
it). Playwright's own browser download does not work on these machines, so
the browser is always the system's, named by CHROMIUM (default
/usr/bin/chromium). A missing browser fails the test that needs it: it is
never skipped."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ARTEFACTS = Path(__file__).resolve().parents[1] / "test-artefacts"


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(f"no Chromium at {path}: install it (apt-get install -y chromium) or set CHROMIUM")
    return path


@dataclass
class Page:
    """A Playwright page and every console error and uncaught exception it raised."""
    page: object
    errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        """Saves a full-page screenshot as a test artefact (test-artefacts/NAME.png)."""
        ARTEFACTS.mkdir(exist_ok=True)
        path = ARTEFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def chromium_page(width: int = 1280, height: int = 900):
    """A fresh headless Chromium page; offline (no request leaves 127.0.0.1)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            wrapped = Page(page)
            page.on("console", lambda msg: msg.type == "error" and wrapped.errors.append(msg.text))
            page.on("pageerror", lambda exc: wrapped.errors.append(str(exc)))
            yield wrapped
        finally:
            browser.close()
