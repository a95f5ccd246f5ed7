"""The generated reference pages (the CLI's help, the config keys, the model
zoo) match what scripts/make_docs.py makes from the code now."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))

import make_docs  # noqa: E402


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return make_docs.generated()


def test_generated_pages_are_up_to_date(pages):
    stale = make_docs.stale(pages)
    assert not stale, f"{', '.join(stale)} out of date with the code: run `{make_docs.COMMAND}` and commit the result"


def test_every_config_key_has_a_meaning(pages):
    # A config key without a comment beside it would show up blank in docs/reference/config.md.
    blank = [line.split("|")[1].strip() for line in pages["docs/reference/config.md"].splitlines()
             if line.startswith("| `") and line.rstrip().endswith("|  |")]
    assert not blank, f"config keys without a meaning: {blank}; add a comment beside the field (the docs read it)"
