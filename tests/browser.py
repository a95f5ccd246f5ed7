"""A real browser for the tests: scripts/docgen/browser.py's Chromium page
(Playwright driving Debian's Chromium; the README's test command installs
it), its screenshots saved as test artefacts (test-artefacts/NAME.png). A
missing browser fails the test that needs it: it is never skipped."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTEFACTS = REPO / "test-artefacts"
sys.path.insert(0, str(REPO / "scripts"))   # as test_docs_generated.py does, for make_docs

from docgen import browser as shared  # noqa: E402


@contextmanager
def chromium_page(width: int = 1280, height: int = 900):
    """A fresh headless Chromium page (docgen.browser.Page); offline."""
    try:
        shared.chromium_path()
    except shared.BrowserMissing as err:
        pytest.fail(str(err))
    with shared.chromium_page(ARTEFACTS, width, height) as page:
        yield page
