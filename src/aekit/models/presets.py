"""Named configs. A preset is data, not code: one YAML file per model in
`presets/`, holding a one-line `summary` (for `aekit presets`), a longer
`description`, and `data`, `model` and `train` sections."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

from aekit.errors import ConfigError, did_you_mean


@lru_cache(maxsize=None)
def _all() -> dict[str, dict]:
    out = {}
    for entry in sorted(resources.files("aekit.models").joinpath("presets").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            out[entry.name[: -len(".yaml")]] = yaml.safe_load(entry.read_text(encoding="utf-8"))
    return out


def preset_names() -> list[str]:
    return list(_all())


def list_presets(long: bool = False) -> list[tuple[str, str]]:
    """(name, short summary) for every preset; (name, full description) with `long`."""
    key = "description" if long else "summary"
    return [(name, raw.get(key) or raw.get("description", "")) for name, raw in _all().items()]


def get_preset(name: str) -> dict:
    """A fresh copy of the preset's raw config (safe to modify)."""
    presets = _all()
    if name not in presets:
        raise ConfigError(f"unknown preset {name!r}{did_you_mean(name, presets)}; run `aekit presets` to list them ({', '.join(presets)})")
    raw = yaml.safe_load(yaml.safe_dump(presets[name], sort_keys=False))
    raw.pop("summary", None)   # listing text only; the run config keeps `description`
    return raw
