"""The info job: what a model is and how it was trained, as plain data.

  kind, image shape, code size, data range, loss unit
  parameters: per part (encoder, bottleneck, decoder, likelihood, each
              regulariser, e.g. an AAE's critic) and in all; a critic is
              counted apart, since only training uses it
  data:       what it was trained on (run folder's config.yaml, or model.json)
  pretrained: a shipped model's recipe and test figures (its card.json)
  preset, epochs trained, the last line of metrics.jsonl, and
  evaluation.json of the run folder when `aekit evaluate` has written one
"""

from __future__ import annotations

import json
from pathlib import Path

from aekit.apps.model import Model


def parameter_counts(model: Model) -> dict[str, int]:
    ae = model.autoencoder
    parts = {"encoder": ae.encoder, "bottleneck": ae.bottleneck, "decoder": ae.decoder, "likelihood": ae.likelihood}
    counts = {name: _count(part) for name, part in parts.items()}
    for i, reg in enumerate(ae.regularisers):
        counts[f"regulariser {reg.name}" + (f" [{i}]" if len(ae.regularisers) > 1 else "")] = _count(reg)
    counts["total"] = _count(ae)
    counts["used at inference"] = counts["total"] - sum(_count(c) for c in ae.critics())
    return counts


def info(model: Model) -> dict:
    ae = model.autoencoder
    out = {
        "kind": model.kind,
        "source": str(model.run_dir) if model.run_dir else f"pretrained:{model.pretrained}" if model.pretrained else None,
        "image_shape": list(model.input_shape),
        "code_size": model.code_dim,
        "data_range": list(ae.data_range),
        "likelihood": f"{type(ae.likelihood).__name__} ({ae.likelihood.unit})",
        "parameters": parameter_counts(model),
        "sampling": model.sample_source,
    }
    source = model.data
    out["data"] = source.describe() if source else None
    out["data_info"] = model.meta.get("data")
    out["epochs"] = model.meta.get("epoch")
    if model.pretrained is not None:   # its recipe and test figures (aekit/pretrained)
        from aekit.pretrained import card

        c = card(model.pretrained)
        out["pretrained"] = {"recipe": c["recipe"], "trained_epochs": c["trained_epochs"], "test": c["test"]}
    run = model.run_dir
    if run is not None:
        out["preset"] = _preset(run)
        out["last_metrics"] = _last_line(run / "metrics.jsonl")
        out["evaluation"] = _json(run / "evaluation.json")
    return out


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _preset(run: Path) -> str | None:
    import yaml

    try:
        return (yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) or {}).get("preset")
    except (OSError, yaml.YAMLError):
        return None


def _last_line(path: Path) -> dict | None:
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else None
    except (OSError, json.JSONDecodeError):
        return None


def _json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
