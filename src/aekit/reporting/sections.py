"""The sections of a run's report, each drawn by the job that `aekit`'s
command of the same name runs (aekit.apps): reconstructions, samples, an
interpolation strip, the manifold grid, the latent map. The jobs write PNG
files; here they write into a temporary folder and the report inlines them.

Bounded so the report costs seconds, not minutes: the pictures read at most
MAP_IMAGES test images and REFERENCE_IMAGES training images, evenly spaced
through their splits (a split may be sorted by label)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from aekit.apps.figures import spread
from aekit.apps.interpolate import interpolate_job
from aekit.apps.latent_map import latent_map_job
from aekit.apps.manifold import manifold_job
from aekit.apps.model import Model
from aekit.apps.reconstruct import reconstruct_job
from aekit.apps.sample import sample_job
from aekit.data import Dataset
from aekit.errors import AekitError
from aekit.evaluation.table import format_number, heading, table_blocks
from aekit.reporting import html
from aekit.reporting.history import best_epoch, mean_rate, total_seconds, validated
from aekit.reporting.html import Section
from aekit.reporting.plots import loss_figure, png_bytes
from aekit.words import counted

MAP_IMAGES = 2000          # the latent map's points
REFERENCE_IMAGES = 5000    # training codes for a plain AE's sampling Gaussian and the manifold's plane
SHOWN = 10                 # reconstructions, and the interpolation's steps
SAMPLES = 64               # an 8 x 8 grid
MANIFOLD_N = 20


@dataclass
class Subject:
    """Everything a run's report reads."""
    model: Model
    config_yaml: str
    history: list[dict]
    dataset: Dataset | None          # None: `data_problem` says why
    data_problem: str
    evaluation: dict | None
    workdir: Path                    # a temporary folder for the jobs' files


def run_sections(s: Subject) -> list[Section]:
    """The sections that apply to this run, in reading order."""
    two_d = s.model.code_dim >= 2   # the map and the grid need a plane
    # (title, builder, whether it needs the run's images: a plain AE samples from its training codes,
    # and its manifold spans them; a VAE's 2-d manifold is the prior's quantiles)
    builders: list[tuple[str, Callable[[Subject], str], bool]] = [
        ("Loss curves", loss_curves, False),
        ("Reconstructions", reconstructions, True),
        ("Samples", samples, s.model.kind == "ae"),
        ("Interpolation", interpolation, True),
    ]
    if two_d:
        builders += [("Manifold", manifold, s.model.kind != "vae" or s.model.code_dim > 2),
                     ("Latent map", latent_map, True)]
    sections = [Section(title, _drawn(build, s, needs_data)) for title, build, needs_data in builders]
    sections.append(Section("Timings and throughput", timings(s.history)))
    if s.evaluation is not None:
        sections.append(Section("Evaluation", evaluation(s.evaluation), wide=True))
    lines = s.config_yaml.count("\n")
    sections.append(Section("Config", html.folded(f"config.yaml: the full resolved config ({lines} lines; "
                                                  "`aekit train --config` reruns it)", html.preformatted(s.config_yaml)),
                            wide=True))
    return sections


def _drawn(build: Callable[[Subject], str], s: Subject, needs_data: bool) -> str:
    """The section's body, or one line saying why it could not be drawn."""
    if needs_data and s.dataset is None:
        return html.note(f"not drawn: {s.data_problem}")
    try:
        return build(s)
    except AekitError as err:
        return html.note(f"not drawn: {err}")


def _png(path: Path) -> bytes:
    return Path(path).read_bytes()


def _shown_split(dataset: Dataset):
    """The test split, or the validation split of data that has no test images."""
    return dataset.test if len(dataset.test) else dataset.val


def _reference(dataset: Dataset):
    train = dataset.train.images
    return train[spread(len(train), REFERENCE_IMAGES)]


def loss_curves(s: Subject) -> str:
    if not s.history:
        return html.note("no epoch finished: no curves yet")
    unit = s.model.autoencoder.likelihood.unit
    last = s.history[-1]
    caption = f"loss per image ({unit}) after each epoch; last epoch {last['epoch']}: train {last['train_loss']:.4f}"
    val, best = validated(s.history), best_epoch(s.history)
    if val:
        caption += f", validation {val[-1]['val_loss']:.4f} (best {best['val_loss']:.4f} at epoch {best['epoch']})"
    return html.image(png_bytes(loss_figure({"": s.history}, unit)), "train and validation loss per epoch", caption)


def reconstructions(s: Subject) -> str:
    split = _shown_split(s.dataset)
    result = reconstruct_job(s.model, split.images[spread(len(split), SHOWN)], s.workdir / "reconstruct", SHOWN)
    return html.image(_png(result.files["figure"]), "original, reconstruction and error rows",
                      f"{SHOWN} held-out images spread through the split; error |x - x̂| per pixel "
                      "(white: none, black: the full range)")


def samples(s: Subject) -> str:
    if s.model.kind == "ae":   # fitted here on a bounded number of training images, not the whole split
        s.model.code_gaussian(_reference(s.dataset))
    result = sample_job(s.model, SAMPLES, s.workdir / "samples.png", seed=0)
    return html.image(_png(result.file), "images decoded from sampled codes",
                      f"{SAMPLES} images (seed 0) decoded from codes drawn from {result.source}", pixels=True)


def interpolation(s: Subject) -> str:
    split = _shown_split(s.dataset)
    a, b = 0, len(split) - 1   # the ends of a split sorted by label: two different classes
    if split.labels is not None:   # else the first image with another label than the first one
        others = (split.labels != split.labels[0]).nonzero()
        b = int(others[0]) if len(others) else b
    method = "slerp" if s.model.kind == "vae" else "linear"
    result = interpolate_job(s.model, split.images[a], split.images[b], s.workdir / "interpolate.png", SHOWN, method)
    return html.image(_png(result.file), "interpolation between two images",
                      f"{SHOWN} images decoded along a {method} path in code space from held-out image {a} "
                      f"to image {b}{_labels(s.dataset, split, a, b)} (the ends are their reconstructions)", pixels=True)


def _labels(dataset: Dataset, split, *indices: int) -> str:
    if split.labels is None:
        return ""
    names = [dataset.classes[int(split.labels[i])] if dataset.classes else str(int(split.labels[i])) for i in indices]
    return " (labels " + " and ".join(names) + ")"


def manifold(s: Subject) -> str:
    reference = _reference(s.dataset) if s.dataset is not None else None
    result = manifold_job(s.model, s.workdir / "manifold.png", MANIFOLD_N, reference=reference)
    return html.image(_png(result.file), "images decoded over a grid of codes",
                      f"{MANIFOLD_N} x {MANIFOLD_N} images decoded over the {result.plane}, {result.stretch}", pixels=True)


def latent_map(s: Subject) -> str:
    split = _shown_split(s.dataset)
    chosen = spread(len(split), MAP_IMAGES)
    labels = split.labels[chosen].numpy() if split.labels is not None else None
    result = latent_map_job(s.model, split.images[chosen], labels, s.dataset.classes, s.workdir / "latent.png", "pca")
    how = "the codes as they are" if result.method == "codes" else "the codes' two leading principal axes"
    coloured = "coloured by label" if labels is not None else "unlabelled"
    return html.image(_png(result.file), "held-out images' codes in the plane",
                      f"{len(result.indices)} held-out images' codes, {how}, {coloured}")


def evaluation(record: dict) -> str:
    """The evaluation record's tables (aekit evaluate's), the model beside PCA where it has one."""
    try:
        parts = [html.table(header, [[str(row[0]), *(format_number(v) for v in row[1:])] for row in rows])
                 for header, rows in table_blocks(record)]
        return html.note(heading(record) + " (RUN/evaluation.json)") + "".join(parts)
    except (KeyError, TypeError) as err:   # a record of another version, or edited by hand
        return html.note(f"not shown: evaluation.json lacks {err}; run `aekit evaluate RUN` again")


def timings(history: list[dict]) -> str:
    if not history:
        return html.note("no epoch finished")
    total, rate = total_seconds(history), mean_rate(history)
    summary = (f"{counted(len(history), 'epoch')} in {total:.1f} s "
               f"({total / len(history):.2f} s an epoch, validation included)")
    summary += f"; training throughput {rate:,.0f} images/s on average" if rate is not None else ""
    rows = [[str(m["epoch"]), f"{m['train_loss']:.4f}", f"{m['val_loss']:.4f}" if "val_loss" in m else "",
             f"{m.get('seconds', float('nan')):.2f}", f"{m.get('samples_per_s', float('nan')):,.0f}"]
            for m in history]
    return html.note(summary) + html.table(["epoch", "train loss", "val loss", "seconds", "images/s"], rows)
