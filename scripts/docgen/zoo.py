"""docs/zoo.md from the presets (their YAML) and the figures that benchmarks/
printed into benchmarks/results/*.md (quality-*.md: test figures against the
published ones; zoo-quality*.md: every preset's test figures after a budget
of training; zoo-speed.md: training speed). Nothing here measures."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def results_tables() -> list[tuple[str, str, list[dict[str, str]]]]:
    """(file name, its header line: date, machine, command; table rows as dicts) per results file."""
    out = []
    for path in sorted(RESULTS.glob("*.md")):
        lines = path.read_text().splitlines()
        header = next((line for line in lines if "command:" in line), "")
        table = [line for line in lines if line.startswith("|")]
        if len(table) < 2:
            continue
        keys = [cell.strip() for cell in table[0].strip("|").split("|")]
        rows = [dict(zip(keys, (cell.strip() for cell in line.strip("|").split("|")))) for line in table[2:]]
        out.append((path.name, header, rows))
    return out


def _minutes(row: dict) -> str:
    """The training-minutes cell, under whichever header its table used."""
    return next(value for key, value in row.items() if key.startswith("training minutes"))


# `--set`s that change how a run is recorded, not the model it trains: a quality
# row with only these (and --epochs) is the preset's own figure.
RECORDING_ONLY = {"train.grid_every"}
_RECIPE = re.compile(r"--preset (?P<preset>[\w.-]+)(?P<rest>[^|]*)")
_SET = re.compile(r"--set (?:'(?P<quoted>[^']*)'|(?P<plain>\S+))")


def recipe_of(task: str) -> tuple[str, list[str]] | None:
    """(preset, the keys its --sets change) of a quality row's task text; None without a preset."""
    match = _RECIPE.search(task)
    if not match:
        return None
    sets = [m["quoted"] if m["quoted"] is not None else m["plain"] for m in _SET.finditer(match["rest"])]
    return match["preset"], [s.split("=", 1)[0] for s in sets]


def _sentence(name: str, header: str, row: dict) -> str:
    return (f"{row['task']}: **{row['aekit']}** (published: {row['published']}; target "
            f"{row['target']}: {row['result']}; {_minutes(row)} training minutes). "
            f"Source: [benchmarks/results/{name}](../benchmarks/results/{name}), {header}")


def figures_for(preset: str, tables) -> list[str]:
    """The quality rows that trained `preset` as it is (changed at most in its epochs and
    what it records), as sentences naming their source."""
    out = []
    for name, header, rows in tables:
        for row in rows:
            recipe = recipe_of(row.get("task", ""))
            if recipe and recipe[0] == preset and set(recipe[1]) <= RECORDING_ONLY:
                out.append(_sentence(name, header, row))
    return out


def recipe_figures(tables) -> list[str]:
    """The quality rows whose recipe changes a preset's model, data or training: their own
    section, so that no preset is credited with a figure another network produced."""
    out = []
    for name, header, rows in tables:
        for row in rows:
            recipe = recipe_of(row.get("task", ""))
            if recipe and not set(recipe[1]) <= RECORDING_ONLY:
                changed = [key for key in recipe[1] if key not in RECORDING_ONLY]
                plural = "s" if len(changed) != 1 else ""
                out.append(f"Built on `{recipe[0]}`, {len(changed)} setting{plural} changed: " + _sentence(name, header, row))
    return out


def _cells(row: dict, *keys: tuple[str, str]) -> str:
    """Each (column, template) whose cell holds a figure ("-": not applicable), the figure put in the template."""
    return ", ".join(template.format(row[key]) for key, template in keys if row.get(key, "-") != "-")


def zoo_figures_for(preset: str, tables) -> list[str]:
    """The preset's rows of benchmarks/zoo_quality.py's tables, as sentences naming their source."""
    out = []
    for name, header, rows in tables:
        if not name.startswith("zoo-quality"):
            continue
        when = header.split("; ")[0]                    # date, machine, aekit version
        partial = " (a partial run)" if "PARTIAL" in header else ""
        for row in rows:
            if row.get("preset") != preset:
                continue
            trained, epochs = (part.strip() for part in row["epochs trained / its epochs"].split("/"))
            quiet = row["training minutes, quiet-equivalent (wall)"].split(" (")[0]
            pca = row["PCA at code size"]
            versus = f" vs {pca} (ratio {row['ratio to PCA']})" if pca != "-" else ""
            # "NLL, k = 100, 1,000 test images (nats)" -> "NLL {} nats (k = 100, 1,000 test images)"
            nll = [(key, f"NLL {{}} nats ({key.removeprefix('NLL, ').removesuffix(' (nats)')})")
                   for key in row if key.startswith("NLL")]
            rest = _cells(row, ("BCE per pixel", "BCE per pixel {}"), ("PSNR dB", "PSNR {} dB"),
                          ("ELBO (nats)", "ELBO {} nats"), *nll, ("active units", "active units {}"),
                          ("kNN accuracy", "kNN accuracy {}"), ("linear probe accuracy", "linear-probe accuracy {}"))
            out.append(f"Test figures: after {trained} of its {epochs} epochs ({quiet} quiet minutes, {when}"
                       f"{partial}): SSE per image **{row['test SSE per image']}**{versus}, {rest}. "
                       f"Source: [benchmarks/results/{name}](../benchmarks/results/{name}).")
    return out


def speed_for(preset: str, tables) -> tuple[str, str] | None:
    for name, header, rows in tables:
        for row in rows:
            if row.get("preset") == preset and "projected training minutes" in row:
                return row["projected training minutes"], row["steps img/s"]
    return None


def parameters(config) -> tuple[int, int]:
    """(all parameters, those used at inference: critics excluded), on the preset's 1x28x28 images."""
    from aekit.api import build_model

    model = build_model(config, tuple(config.model.input_shape or (1, 28, 28)))
    total = sum(p.numel() for p in model.parameters())
    critics = sum(p.numel() for c in model.critics() for p in c.parameters())
    return total, total - critics


def zoo() -> str:
    from aekit.models.presets import get_preset, list_presets
    from aekit.training.config import resolve_config

    tables = results_tables()
    speed_source = next(((name, header) for name, header, rows in tables if name == "zoo-speed.md"), None)
    out = ["# Model zoo", "",
           "Every preset, what it mirrors, its size, and the figures that `benchmarks/` measured for it. "
           "Generated by `python scripts/make_docs.py` from the presets (`src/aekit/models/presets/*.yaml`) "
           "and `benchmarks/results/*.md`; do not edit by hand. `aekit presets NAME` prints a preset's "
           "config; `aekit train --preset NAME` trains it. Trained weights to download: "
           "[pretrained models](pretrained.md).", ""]
    if speed_source:
        out += [f"Training minutes are projections from the training steps' speed, measured by "
                f"`benchmarks/zoo_speed.py` ({speed_source[1]}; "
                f"[benchmarks/results/zoo-speed.md](../benchmarks/results/zoo-speed.md)): the preset's "
                "training images x its epochs / img/s, validation and files not counted. The load average in "
                "that line says how busy the machine was (other processes' share of the 2 cores slows every "
                "figure). To measure them anew: `python benchmarks/zoo_speed.py` on a quiet machine, then "
                "`python scripts/make_docs.py`.", ""]
    quality_source = next(((name, header) for name, header, rows in tables if name == "zoo-quality.md"), None)
    if quality_source:
        out += ["\"Test figures: after E of its N epochs\" come from `benchmarks/zoo_quality.py`, which trains "
                "each preset with its own settings for its epochs or as many as fit a budget of quiet-equivalent "
                "CPU minutes (CPU time over threads), then runs `aekit evaluate` on the test split "
                f"({quality_source[1]}; [benchmarks/results/zoo-quality.md](../benchmarks/results/zoo-quality.md)"
                "). A preset cut short of its epochs is not at its best: they say what a few minutes buy. The "
                "other figures, against published ones, are `benchmarks/quality.py`'s.", ""]
    out += ["| preset | data | code | parameters (inference) | epochs x batch | optimiser, lr | "
            "training on 2 CPU cores |", "| --- | --- | --- | --- | --- | --- | --- |"]
    details = []
    for name, summary in list_presets():
        config = resolve_config(name)
        total, inference = parameters(config)
        kind = type(config.model.bottleneck).TYPE
        speed = speed_for(name, tables)
        minutes = f"{speed[0]} min ({speed[1]} img/s)" if speed else "not measured"
        size = f"{total:,}" + (f" ({inference:,})" if inference != total else "")
        out.append(f"| [{name}](#{name}) | {config.data.name} | {config.model.bottleneck.dim} ({kind}) | {size} | "
                   f"{config.train.epochs} x {config.train.batch_size} | {config.train.optimizer}, "
                   f"{config.train.lr:g} | {minutes} |")
        figures = zoo_figures_for(name, tables) + figures_for(name, tables)
        details += [f"## {name}", "", get_preset(name).get("description", summary), "",
                    f"`aekit train --preset {name}`", ""]
        details += [f"- {line}" for line in figures] or ["- Test figures: none in `benchmarks/results/` yet "
                                                         "(`aekit evaluate RUN` measures a trained run)."]
        details += [""]
    recipes = recipe_figures(tables)
    if recipes:
        details += ["## Recipes beyond the presets", "",
                    "`benchmarks/quality.py`'s recipes that change a preset's network, data or training with "
                    "`--set`s (each row names them all): the figures belong to those networks, not to the preset "
                    "they start from.", ""] + [f"- {line}" for line in recipes] + [""]
    return "\n".join(out + [""] + details)
