"""The generated reference pages (the CLI's help, the config keys, the model
zoo) match what scripts/make_docs.py makes from the code now."""

import re
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


# Pages that other branches of 2026-11-30 add (the report, the explorer, the
# pretrained models, own image folders, guarantees); the index links them
# already. Empty this once they are merged.
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def test_relative_links_in_the_docs_point_at_files():
    broken = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]:
        for target, _ in LINK.findall(page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = (page.parent / target).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert not broken, "links to missing files: " + "; ".join(broken)


def test_the_zoo_credits_a_preset_only_with_figures_of_its_own_network():
    from docgen.zoo import figures_for, recipe_figures

    def table(task):
        row = {"task": task, "aekit": "1.0", "published": "p", "target": "t", "result": "pass",
               "training minutes, quiet-equivalent (wall)": "1.0 (1.0 wall)"}
        return [("quality-x.md", "header", [row])]

    as_is = table("BCE (--preset dense-ae-32 --epochs 50 --set train.grid_every=0)")
    changed = table("SSE (--preset conv-ae-10 --epochs 28 --set 'model.bottleneck={type: deterministic, dim: 30}' "
                    "--set train.lr=0.002 --set train.grid_every=0)")
    assert len(figures_for("dense-ae-32", as_is)) == 1 and recipe_figures(as_is) == []
    assert figures_for("conv-ae-10", changed) == []
    assert recipe_figures(changed)[0].startswith("Built on `conv-ae-10`, 2 settings changed: SSE")
    assert figures_for("conv-ae", as_is + changed) == []     # a name that prefixes another's is not it
