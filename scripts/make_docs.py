"""Regenerate the docs' generated pages; `--check` only says which are stale.

    python scripts/make_docs.py           # writes docs/reference/cli.md, docs/reference/config.md, docs/zoo.md
    python scripts/make_docs.py --check   # exit 1 naming the stale pages (tests/test_docs_generated.py does this)

Run it after adding a command, a config key or a preset, or after a benchmark
writes benchmarks/results/. Needs aekit importable (PYTHONPATH=src, or installed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from docgen.cli_reference import cli_reference  # noqa: E402
from docgen.config_reference import config_reference  # noqa: E402
from docgen.zoo import zoo  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PAGES = {"docs/reference/cli.md": cli_reference, "docs/reference/config.md": config_reference, "docs/zoo.md": zoo}
COMMAND = "python scripts/make_docs.py"


def generated() -> dict[str, str]:
    """{page path relative to the repository: its up-to-date text}."""
    return {path: make().rstrip("\n") + "\n" for path, make in PAGES.items()}


def stale(pages: dict[str, str]) -> list[str]:
    return [path for path, text in pages.items()
            if not (REPO / path).is_file() or (REPO / path).read_text() != text]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page is stale")
    args = parser.parse_args()
    pages = generated()
    if args.check:
        old = stale(pages)
        for path in old:
            print(f"{path} is stale: run `{COMMAND}`", file=sys.stderr)
        return 1 if old else 0
    from aekit.fs import atomic_write_text

    for path, text in pages.items():
        (REPO / path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(REPO / path, text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
