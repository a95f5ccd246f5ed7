"""Where the shipped pretrained models are, by name (no torch, no data: cheap to import)."""

from __future__ import annotations

import json
from pathlib import Path

from aekit.errors import AekitError, did_you_mean

PREFIX = "pretrained:"
ROOT = Path(__file__).resolve().parent    # the package's own folder: NAME/ per model
CARD = "card.json"


def names(root: Path = ROOT) -> list[str]:
    """The names of the models under `root`, sorted."""
    return sorted(p.parent.name for p in root.glob(f"*/{CARD}"))


def folder(name: str, root: Path = ROOT) -> Path:
    """The folder of model `name` (without the "pretrained:" prefix); an unknown
    name is one line with the closest names and the list."""
    if (root / name / CARD).is_file() and "/" not in name and "\\" not in name and name not in (".", ".."):
        return root / name
    known = names(root)
    listed = ", ".join(known) if known else "none are installed"
    raise AekitError(f"{PREFIX}{name}: no such pretrained model{did_you_mean(name, known, PREFIX)}; "
                     f"pretrained models: {listed} (`aekit pretrained` lists them)")


def card(name: str, root: Path = ROOT) -> dict:
    """The card of model `name`: recipe, test figures, hashes (docs/pretrained.md)."""
    path = folder(name, root) / CARD
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise AekitError(f"{path} is not valid JSON: the installed package is damaged; reinstall aekit "
                         f"or rebuild it with `aekit pretrained build {name}`") from None
