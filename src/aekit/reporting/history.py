"""A run's metrics.jsonl and evaluation.json, and the few figures the report pages take from it."""

from __future__ import annotations

import json
from pathlib import Path

from aekit.errors import AekitError


def _json(path: Path, text: str, lines: bool = False):
    try:
        return [json.loads(line) for line in text.splitlines() if line.strip()] if lines else json.loads(text)
    except ValueError as err:
        raise AekitError(f"{path} is not valid JSON ({err}): it was not written by aekit, or was cut short") from None


def read_history(run_dir: Path) -> list[dict]:
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return _json(path, path.read_text(encoding="utf-8"), lines=True)


def read_evaluation(run_dir: Path | None) -> dict | None:
    """RUN/evaluation.json (written by `aekit evaluate`), or None."""
    path = Path(run_dir) / "evaluation.json" if run_dir is not None else None
    return _json(path, path.read_text(encoding="utf-8")) if path is not None and path.is_file() else None


def validated(history: list[dict]) -> list[dict]:
    """The epochs with a validation loss."""
    return [m for m in history if "val_loss" in m]


def best_epoch(history: list[dict]) -> dict | None:
    val = validated(history)
    return min(val, key=lambda m: m["val_loss"]) if val else None


def total_seconds(history: list[dict]) -> float:
    return sum(m.get("seconds", 0.0) for m in history)


def mean_rate(history: list[dict]) -> float | None:
    """Training images per second, averaged over the epochs (NaN epochs, too short to time, left out)."""
    rates = [m["samples_per_s"] for m in history if m.get("samples_per_s") == m.get("samples_per_s")]
    return sum(rates) / len(rates) if rates else None


def parameter_count(model) -> int:
    """An apps Model's number of weights."""
    return sum(p.numel() for p in model.autoencoder.parameters())


def require_run_folder(folder: Path) -> Path:
    """`folder`, when it is a run folder (config.yaml and model.safetensors); else one line."""
    if not (folder / "config.yaml").is_file() or not (folder / "model.safetensors").is_file():
        raise AekitError(f"{folder} is not a run folder (no config.yaml and model.safetensors): "
                         "give a folder written by `aekit train`")
    return folder
