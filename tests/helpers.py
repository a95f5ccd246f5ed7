"""Small helpers shared by several test modules (importable: pytest puts
this folder on sys.path, beside conftest.py)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.distributions import Normal, kl_divergence

from aekit.nn.bottlenecks import Gaussian, GaussianConfig
from aekit.training.callbacks import Callback


def checkpoint_generation(run: Path) -> int:
    """The generation named by a run folder's checkpoint/last.json (0 before the first)."""
    try:
        return json.loads((run / "checkpoint" / "last.json").read_text())["generation"]
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


def weights_equal(a, b) -> bool:
    """Whether two models hold bitwise the same parameters and buffers."""
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def row_hashes(images) -> list[bytes]:
    """One SHA-1 per image (numpy array or CPU tensor), to compare sets of images."""
    flat = np.asarray(images).reshape(len(images), -1)
    return [hashlib.sha1(row.tobytes()).digest() for row in flat]


class StopAt(Callback):
    """Ctrl-C as the trainer sees it, at a given step."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, trainer, epoch, step_in_epoch, steps_per_epoch) -> None:
        if trainer.state.step == self.step:
            trainer._interrupted = True


class WidePriorGaussian(Gaussian):
    """A new stochastic bottleneck: the same q(z|x), against the prior N(0, 2² I)
    in `kl` only; it inherits log_prior's N(0, I), so an NLL that trusted its
    densities would silently use the wrong p(z)."""

    def kl(self, code):
        return kl_divergence(Normal(code.mean, torch.exp(0.5 * code.logvar)), Normal(0.0, 2.0)).sum(-1)


@dataclass
class WidePriorConfig(GaussianConfig):
    def build(self, in_features):
        return WidePriorGaussian(in_features, self.dim)


def aekit_cli(*args):
    """`aekit ARGS` in-process (click's CliRunner); a bug's exception is raised with its traceback."""
    from click.testing import CliRunner

    from aekit.cli.main import cli

    result = CliRunner().invoke(cli, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def cli_ok(*args) -> str:
    """`aekit ARGS` in-process, which must succeed; its stdout."""
    result = aekit_cli(*args)
    assert result.exit_code == 0, result.stderr
    return result.stdout
