"""The one trainer for every model of the family.

Hot-path rules (measured, see benchmarks/): the data set is one uint8 tensor
on the device; a batch is an index slice converted to float per batch; no
`.item()` or other host sync inside an epoch (losses accumulate on the
device); validation runs under `inference_mode`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from aekit.data import Split
from aekit.errors import AekitError
from aekit.models.autoencoder import Autoencoder
from aekit.train.callbacks import Callback, CallbackList
from aekit.train.config import TrainConfig
from aekit.train.device import resolve_device
from aekit.train.optim import make_optimizer
from aekit.train.validation import mean_loss_terms


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The data order of one epoch: a pure function of (seed, epoch), so a
    resumed run replays exactly the same batches."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


@dataclass
class TrainState:
    epoch: int = 0            # epochs completed
    step: int = 0             # optimiser steps taken
    history: list[dict] = field(default_factory=list)


class Trainer:
    def __init__(self, model: Autoencoder, train: Split, val: Split, config: TrainConfig,
                 callbacks: list[Callback] = ()):
        if len(train) == 0:
            raise AekitError("the training split is empty: give a dataset with images")
        self.config = config
        self.device = resolve_device(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        self.model = model.to(self.device)
        self.train_images = train.images.to(self.device)
        self.val_images = val.images.to(self.device)
        self.optimizer = make_optimizer(config, self.model.main_parameters())
        # The adversarial autoencoder's critic learns alternately, with its own optimiser.
        critic_params = self.model.critic_parameters()
        self.critic_optimizer = (
            make_optimizer(config, critic_params, lr=config.critic_lr or config.lr) if critic_params else None
        )
        self.state = TrainState()
        self.callbacks = CallbackList(callbacks)
        self.n_pixels = math.prod(model.input_shape)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_images) / self.config.batch_size)

    def fit(self) -> list[dict]:
        cfg = self.config
        self.callbacks.on_fit_start(self)
        while self.state.epoch < cfg.epochs:
            metrics = self._run_epoch(self.state.epoch + 1)
            self.state.epoch += 1
            self.state.history.append(metrics)
            self.callbacks.on_epoch_end(self, metrics)
        self.callbacks.on_fit_end(self)
        return self.state.history

    def _run_epoch(self, epoch: int) -> dict:
        cfg, model = self.config, self.model
        self.callbacks.on_epoch_start(self, epoch)
        model.train()
        order = epoch_order(len(self.train_images), cfg.seed, epoch).to(self.device)
        sums: dict[str, torch.Tensor] = {}
        start = time.perf_counter()
        steps = self.steps_per_epoch
        for i in range(steps):
            idx = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            x = model.preprocess(self.train_images[idx])
            out = model.loss(x, self.state.step)
            self.optimizer.zero_grad(set_to_none=True)
            out.total.backward()
            self.optimizer.step()
            if self.critic_optimizer is not None:
                critic_loss = model.critic_loss(x)
                self.critic_optimizer.zero_grad(set_to_none=True)
                critic_loss.backward()
                self.critic_optimizer.step()
            self.state.step += 1
            with torch.no_grad():
                sums["loss"] = sums.get("loss", 0) + out.total.detach() * len(idx)
                for name, value in out.terms.items():
                    sums[name] = sums.get(name, 0) + value.detach().sum()
            self.callbacks.on_step_end(self, epoch, i + 1, steps)
        train_seconds = time.perf_counter() - start
        n = len(self.train_images)
        train_terms = {name: float(total) / n for name, total in sums.items()}
        if not math.isfinite(train_terms["loss"]):
            raise AekitError(
                f"training diverged: the loss became {train_terms['loss']} in epoch {epoch}: lower --lr"
            )
        val_terms = mean_loss_terms(model, self.val_images, cfg.eval_batch_size, self.state.step) \
            if len(self.val_images) else {}
        return self._metrics(epoch, train_terms, val_terms, train_seconds, time.perf_counter() - start)

    def _metrics(self, epoch, train_terms, val_terms, train_seconds, seconds) -> dict:
        metrics = {"epoch": epoch, "step": self.state.step}
        for prefix, terms in (("train", train_terms), ("val", val_terms)):
            for name, value in terms.items():
                metrics[f"{prefix}_{name}"] = value
            if "recon" in terms:
                metrics[f"{prefix}_recon_per_pixel"] = terms["recon"] / self.n_pixels
        metrics["seconds"] = seconds
        metrics["samples_per_s"] = len(self.train_images) / train_seconds if train_seconds > 0 else float("nan")
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        return metrics
