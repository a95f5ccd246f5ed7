"""`aekit sweep`: one run per value of one config key, evaluated side by side
(the tutorials' "effect of the latent size", and any other one-key study).

    aekit.sweep("dense-ae-32", sets=["model.bottleneck.dim=2,5,10,20,50"], epochs=10)

Exactly one `--set` carries a comma list (the swept key); the others are
fixed overrides for every run. A comma inside brackets is YAML, not a list
of values: `model.encoder.widths=[512,256]` is one value.

All runs live in one parent folder, one run folder each (PARENT/dim-2/, ...),
so the sweep is resumable: a value whose run is finished (its checkpoint has
reached the run's epochs, or stopped early) is not trained again; an
interrupted one continues from its checkpoint (aekit.api.resume, bit for
bit). Each run is then evaluated on the test split by `aekit.evaluate`
(which writes its evaluation.json too): squared error per image on [0, 1]
pixels, PCA with as many components as the code (fitted on the run's
training split), and for a VAE the ELBO. The parent folder gets
sweep.csv, sweep.md (a Markdown table) and sweep.png (test error against the
swept value, PCA beside it), each written atomically.

The module is `aekit.sweeps`, not `aekit.sweep`: a submodule named like the
function `aekit.sweep` would replace it as an attribute of the package once
imported."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aekit.errors import AekitError
from aekit.fs import atomic_write_text, make_folder
from aekit.training.callbacks import Callback
from aekit.training.config import parse_set, qualify, resolve_config

COLUMNS = ["value", "run", "epochs", "code_dim", "test_images", "test_sse", "pca_sse", "ratio_to_pca",
           "elbo", "elbo_recon", "elbo_kl"]


@dataclass
class SweepResult:
    dir: Path
    key: str                          # the swept key, qualified: "model.bottleneck.dim"
    rows: list[dict] = field(default_factory=list)   # one per value, keys COLUMNS
    trained: list[str] = field(default_factory=list)  # run folders trained (or resumed) by this call


def split_values(text: str) -> list[str]:
    """"2,5,10" -> ["2", "5", "10"]; commas inside [] or {} stay (YAML lists and maps)."""
    items, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    items.append(current.strip())
    return items


def parse_sweep_sets(sets: list[str]) -> tuple[str, list[str], list[str]]:
    """(swept key, its value texts, the fixed `key=value` overrides)."""
    swept, fixed = [], []
    for item in sets:
        parse_set(item)   # the one check of `key=value` syntax (a one-line error if not)
        key, text = item.split("=", 1)
        key, values = key.strip(), split_values(text)
        (swept if len(values) > 1 else fixed).append((key, values, item))
    if len(swept) != 1:
        found = ", ".join(key for key, _, _ in swept) or "none"
        raise AekitError(f"aekit sweep needs exactly one --set whose value is a comma list "
                         f"(e.g. --set model.bottleneck.dim=2,5,10), got {len(swept)} ({found})")
    key, values, _ = swept[0]
    if any(v == "" for v in values) or len(set(values)) != len(values):
        raise AekitError(f"--set {key}: the swept values {values} must be distinct and non-empty")
    return key, values, [item for _, _, item in fixed]


def run_name(key: str, value: str) -> str:
    """The run folder of one value: the key's last part and the value as typed,
    made safe for a file name ("dim-2", "widths-_512_256_")."""
    return f"{key.rsplit('.', 1)[-1]}-{re.sub(r'[^A-Za-z0-9._-]', '_', value)}"


def _comparable(config: dict) -> dict:
    """A run config without what a sweep may change on a finished run
    (train.epochs, raised to train further; train.device, where it runs) or
    what training fills in (model.input_shape, known once the data is)."""
    config = json.loads(json.dumps(config))
    config["train"].pop("epochs", None)
    config["train"].pop("device", None)
    config["model"].pop("input_shape", None)
    return config


def checkpoint_state(run_dir: Path) -> dict | None:
    """The counters of a run folder's checkpoint (epoch, stopped_early), or None before its first."""
    try:
        meta = json.loads((run_dir / "checkpoint" / "last.json").read_text(encoding="utf-8"))
        return {"epoch": int(meta["epoch"]), "stopped_early": bool(meta.get("stopped_early"))}
    except (FileNotFoundError, json.JSONDecodeError, KeyError, ValueError):
        return None


def sweep(preset: str | None = None, *, sets: list[str], config: str | Path | dict | None = None,
          data: str | Path | None = None, epochs: int | None = None, seed: int | None = None,
          device: str | None = None, out: str | Path | None = None, callbacks: list[Callback] = (),
          eval_seed: int = 0, log=None) -> SweepResult:
    """Train (or resume) one run per value of the swept key, evaluate each on
    its test split, and write sweep.csv / sweep.md / sweep.png in `out`
    (default runs/sweep-<preset>-<key>). `log` (e.g. print) hears one line per run."""
    from aekit.api import resume, train

    key, values, fixed = parse_sweep_sets(list(sets))
    overrides = {"data.name": str(data) if data is not None else None, "train.epochs": epochs,
                 "train.seed": seed, "train.device": device}
    base = resolve_config(preset, config, overrides=overrides, sets=fixed)
    key = qualify(key, base.to_dict())
    parent = Path(out) if out is not None else Path("runs") / f"sweep-{base.preset or 'run'}-{key.rsplit('.', 1)[-1]}"
    result = SweepResult(parent, key)
    say = log or (lambda line: None)
    # Every value's config is checked before any run trains: a bad value fails at once.
    configs = {value: resolve_config(preset, config, overrides=overrides, sets=fixed + [f"{key}={value}"])
               for value in values}
    for value, cfg in configs.items():
        run_dir = parent / run_name(key, value)
        state = checkpoint_state(run_dir)
        if state is not None:
            saved = resolve_config(config_file=run_dir / "config.yaml")
            if _comparable(saved.to_dict()) != _comparable(cfg.to_dict()):
                raise AekitError(f"{run_dir} holds a run of another config than this sweep's {key}={value}: "
                                 f"give another --out, or remove that folder")
            if state["stopped_early"] or state["epoch"] >= cfg.train.epochs:
                say(f"{run_dir}: finished ({state['epoch']} epochs), not retrained")
            else:
                say(f"{run_dir}: resuming at epoch {state['epoch']} of {cfg.train.epochs}")
                resume(run_dir, callbacks=callbacks,
                       epochs=cfg.train.epochs if cfg.train.epochs != saved.train.epochs else None)
                result.trained.append(str(run_dir))
        else:
            say(f"{run_dir}: training {key}={value}")
            if (run_dir / "metrics.jsonl").exists():   # a run that crashed before its first checkpoint
                (run_dir / "metrics.jsonl").unlink()
            train(preset, config=config, data=data, epochs=epochs, seed=seed, device=device, out=run_dir,
                  sets=fixed + [f"{key}={value}"], callbacks=callbacks)
            result.trained.append(str(run_dir))
        result.rows.append({"value": value, "run": run_dir.name, **evaluate_run(run_dir, seed=eval_seed)})
        write_outputs(result, base)   # after each value: an interrupted sweep still shows what it has
    return result


def evaluate_run(run_dir: Path, *, seed: int = 0) -> dict:
    """The sweep's figures of one run folder, from `aekit.evaluate` on its
    test split (which also writes RUN/evaluation.json): squared error per
    image, PCA's at the code size (fitted on the run's training split) and
    their ratio; a VAE's ELBO and its parts (seeded). The costly parts a
    code-size study does not need (importance-sampled NLL, probes) are left out."""
    from aekit.evaluation import evaluate

    record = evaluate(run_dir, split="test", nll_samples=0, probes=False, seed=seed, write=True)
    recon, vae = record["reconstruction"], record.get("vae", {})
    return {"epochs": record["meta"].get("epoch"), "code_dim": record["meta"]["model"]["code_dim"],
            "test_images": record["meta"]["images"], "test_sse": recon["model"]["sse"],
            "pca_sse": recon.get("pca", {}).get("sse"), "ratio_to_pca": recon.get("ratio", {}).get("sse"),
            "elbo": vae.get("elbo"), "elbo_recon": vae.get("recon"), "elbo_kl": vae.get("kl")}


def write_outputs(result: SweepResult, base) -> None:
    from aekit.reporting.sweep_plot import plot_sweep

    parent = result.dir
    make_folder(parent)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in result.rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
    atomic_write_text(parent / "sweep.csv", buffer.getvalue())
    atomic_write_text(parent / "sweep.md", markdown_table(result, base))
    plot_sweep(result.rows, result.key, parent / "sweep.png")


def markdown_table(result: SweepResult, base) -> str:
    """A table a reader can paste into a report, with what produced it above it."""
    from aekit import __version__

    vae = any(row["elbo"] is not None for row in result.rows)
    head = [result.key, "run", "epochs", "test SSE / image", "PCA SSE / image", "model / PCA"]
    head += ["test ELBO", "ELBO recon", "ELBO KL"] if vae else []
    lines = [
        f"# aekit sweep of `{result.key}`",
        "",
        f"Preset `{base.preset}`, data `{base.data.name}`, seed {base.train.seed}; written "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by aekit {__version__}. "
        "Squared error per image: the sum over pixels in [0, 1] of (x - x̂)², averaged over the test split; "
        "PCA with as many components as the code, fitted on the training split.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---:" if i != 1 else ":---" for i in range(len(head))) + "|",
    ]
    for row in result.rows:
        cells = [row["value"], row["run"], str(row["epochs"]), _fmt(row["test_sse"]), _fmt(row["pca_sse"]),
                 _fmt(row["ratio_to_pca"], 3)]
        cells += [_fmt(row["elbo"]), _fmt(row["elbo_recon"]), _fmt(row["elbo_kl"])] if vae else []
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _fmt(value: Any, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"
