"""Regenerates docs/images/report.png, the README's picture of a run's
report.html: the tutorial model trained on the offline digits for 10 epochs,
evaluated, reported by aekit, and the top of the page as Chromium shows it
on a desktop.

    AEKIT_DATA_DIR=../shared/data python docs/images/report.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import aekit

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        run = aekit.train("fashion-ae", data="digits-sample", epochs=10, batch_size=64, out=Path(tmp) / "quickstart")
        aekit.evaluate(run.dir, limit=1000, probes=False)
        page_file = aekit.report(run.dir)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.goto(page_file.resolve().as_uri())
            page.screenshot(path=str(HERE / "report.png"))   # the viewport: the page's top
            browser.close()
    print(HERE / "report.png")


if __name__ == "__main__":
    main()
