"""Named configs. A preset is data, not code: one YAML file per model in
`presets/`, holding `description`, `data`, `model` and `train` sections."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

from aekit.errors import ConfigError


@lru_cache(maxsize=None)
def _all() -> dict[str, dict]:
    out = {}
    for entry in sorted(resources.files("aekit.models").joinpath("presets").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            out[entry.name[: -len(".yaml")]] = yaml.safe_load(entry.read_text(encoding="utf-8"))
    return out


def preset_names() -> list[str]:
    return list(_all())


def list_presets() -> list[tuple[str, str]]:
    """(name, one-line description) for every preset."""
    return [(name, raw.get("description", "")) for name, raw in _all().items()]


def get_preset(name: str) -> dict:
    """A fresh copy of the preset's raw config (safe to modify)."""
    presets = _all()
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}; run `aekit presets` to list them ({', '.join(presets)})")
    return yaml.safe_load(yaml.safe_dump(presets[name]))
