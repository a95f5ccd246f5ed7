"""The one trainer for every model of the family.

Hot-path rules (measured, see benchmarks/): the data set is one uint8 tensor
on the device; a batch is an index slice converted to float per batch; no
`.item()` or other host sync inside an epoch, and no bookkeeping op between
steps (losses are filed, then summed on the device per chunk of steps:
tally.py); validation runs under `inference_mode`.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # typing only: the trainer needs tensors, not the data layer
    from aekit.data import Split
from aekit.data.memmap import gatherer, is_mapped   # numpy and torch only: batches from a memory map
from aekit.cpu import flushing_denormals, return_large_blocks
from aekit.errors import AekitError
from aekit.models.autoencoder import Autoencoder
from aekit.nn.linear import compile_kernel_choice_as_constant, cpu_linear_kernel, using_cpu_linear_kernel
from aekit.training.callbacks import Callback, CallbackList
from aekit.training.config import TrainConfig
from aekit.training.device import resolve_device, usable_cpu_threads
from aekit.training import distributed
from aekit.training.checkpoint import load_checkpoint, save_checkpoint
from aekit.training.optim import make_optimizer
from aekit.training.schedules import make_scheduler, step_scheduler
from aekit.training.tally import EpochTally
from aekit.training.validation import validate


def epoch_order(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The data order of one epoch: a pure function of (seed, epoch), so a
    resumed run replays exactly the same batches."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


def uses_channels_last(model: torch.nn.Module, device: torch.device, setting: bool | None = None) -> bool:
    """Whether the trainer keeps `model` in channels-last memory: conv models
    only, and by default (setting None) on the CPU only."""
    wanted = device.type == "cpu" if setting is None else setting
    return wanted and any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for m in model.modules())


@dataclass
class TrainState:
    epoch: int = 0            # epochs completed
    step: int = 0             # optimiser steps taken
    step_in_epoch: int = 0    # position in the current epoch's order (0: epoch not started)
    history: list[dict] = field(default_factory=list)
    best_val_loss: float | None = None
    bad_epochs: int = 0       # epochs since the best val_loss (early stopping)
    generation: int = 0       # checkpoints written so far
    stopped_early: bool = False


class Interrupted(KeyboardInterrupt):
    """Ctrl-C arrived; a checkpoint was written first."""


class Trainer:
    def __init__(self, model: Autoencoder, train: Split, val: Split, config: TrainConfig,
                 callbacks: list[Callback] = (), checkpoint_dir: str | Path | None = None):
        if len(train) == 0:
            raise AekitError("the training split is empty: give a dataset with images")
        self.config = config
        self.device = distributed.local_device(resolve_device(config.device))
        distributed.init(self.device)
        torch.set_num_threads(config.threads or usable_cpu_threads())
        self.model = model.to(self.device)
        if uses_channels_last(model, self.device, config.channels_last):
            # oneDNN's conv kernels work in NHWC: NCHW weights cost a reorder
            # per call (1.2x faster conv-ae-10 training on the CPU when off).
            # The inputs follow the weights' layout by themselves.
            self.model = self.model.to(memory_format=torch.channels_last)
        # A memory-mapped split stays on the CPU, batches gathered from its map
        # (aekit.data.memmap): moving it would load it whole.
        self.train_images = train.images if is_mapped(train.images) else train.images.to(self.device)
        self.val_images = val.images if is_mapped(val.images) else val.images.to(self.device)
        self.gather = gatherer(self.train_images)
        self.optimizer = make_optimizer(config, self.model.main_parameters())
        # The adversarial autoencoder's critic learns alternately, with its own optimiser.
        critic_params = self.model.critic_parameters()
        self.critic_optimizer = (
            make_optimizer(config, critic_params, lr=config.critic_lr or config.lr) if critic_params else None
        )
        if critic_params and distributed.world_size() > 1:
            raise AekitError("adversarial models (with a critic) do not train on several processes yet: run one process")
        self.eager_loss_fn = distributed.wrap(self.model, self.device)   # DDP on several processes
        self.loss_fn = self.eager_loss_fn
        if config.compile:
            # Forward and backward become one fused graph each; the first step
            # pays the compile (cached on disk for later runs). fallback_random:
            # the same random numbers as without compile, so a compiled run
            # follows an eager run of the same seed up to rounding. dynamic=False
            # and an epoch's short last batch run eagerly: one compile, not two.
            compile_kernel_choice_as_constant()
            self.loss_fn = torch.compile(self.eager_loss_fn, dynamic=False, options={"fallback_random": True})
        self.scheduler = make_scheduler(config, self.optimizer)
        if config.precision == "fp16" and self.device.type != "cuda":
            raise AekitError("--precision fp16 needs a CUDA GPU: use bf16 or fp32 on this device")
        self.autocast_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.precision)
        # fp16 gradients underflow without loss scaling; the scaler's state is checkpointed.
        self.scaler = torch.amp.GradScaler("cuda") if config.precision == "fp16" else None
        self.state = TrainState()
        # The linear layers' CPU kernel is part of the run (checkpointed): a
        # resumed run keeps it whatever AEKIT_CPU_LINEAR says, and so continues bit for bit.
        self.cpu_linear = cpu_linear_kernel()
        # So is denormal flushing (it changes rounding): a resumed run keeps its own.
        self.flush_denormal = config.flush_denormal
        self.bounded_malloc: dict | None = None   # {"on", "mallopt"}: what fit resolved (process-wide, not restored)
        self.tally = EpochTally()   # the epoch's loss sums (checkpointed)
        self.val_codes: torch.Tensor | None = None   # the last validation's codes of the clean images
        self.rank_rng_states: dict[str, torch.Tensor] = {}   # under torchrun: every rank's, for the checkpoint
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.callbacks = CallbackList(callbacks)
        self._interrupted = False
        self.n_pixels = math.prod(model.input_shape)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_images) / self.config.batch_size)

    def resume(self) -> None:
        """Continue from the checkpoint in `checkpoint_dir` (every rank reads it)."""
        load_checkpoint(self, self.checkpoint_dir)
        self._keep_sums_on_rank0()   # the saved sums are global

    def save_checkpoint(self) -> None:
        if self.checkpoint_dir is None:
            return
        if distributed.world_size() > 1:
            # Every rank reaches this point together; the epoch's partial sums
            # are made global so that rank 0's checkpoint holds the whole run.
            self.tally.reduce(distributed.all_reduce_sum)
            self._keep_sums_on_rank0()
            self.rank_rng_states = distributed.gather_rng_states(self.device)   # each rank's own noise stream
        if distributed.is_main():
            save_checkpoint(self, self.checkpoint_dir)

    def _keep_sums_on_rank0(self) -> None:
        """Global epoch sums live on rank 0 only; the other ranks restart from
        zero, so that the epoch's final all-reduce counts each image once."""
        if not distributed.is_main():
            self.tally.reduce(torch.zeros_like)

    def fit(self) -> list[dict]:
        # Each step's large temporaries go back to the OS when freed, so that
        # resident memory stays flat through the run (aekit.cpu.return_large_blocks):
        # by default when training from a memory map, where bounded memory is the point.
        # Recorded in the checkpoint (as the kernels are): the setting resolved, and whether glibc took it.
        on = bool(self.config.bounded_malloc) or (self.config.bounded_malloc is None and is_mapped(self.train_images))
        self.bounded_malloc = {"on": on, "mallopt": return_large_blocks() if on else False}
        with using_cpu_linear_kernel(self.cpu_linear), flushing_denormals(self.flush_denormal):
            return self._fit()

    def _fit(self) -> list[dict]:
        cfg = self.config
        self.callbacks.on_fit_start(self)
        previous = self._catch_sigint()
        if self.state.generation == 0:
            # A checkpoint of the start: even a run that diverges at its first
            # steps leaves a good one to go back to.
            self.save_checkpoint()
        try:
            while self.state.epoch < cfg.epochs and not self.state.stopped_early:
                metrics = self._run_epoch(self.state.epoch + 1)
                self.state.epoch += 1
                self.state.step_in_epoch = 0
                self.tally.clear()
                self.state.history.append(metrics)
                # The loss that the plateau schedule, the best model and early stopping watch
                # (val_loss is on the model's task: a denoiser's on noisy inputs, see validation.py).
                monitored = distributed.rank0_value(metrics.get("val_loss", metrics["train_loss"]), self.device)
                step_scheduler(self.scheduler, monitored)
                self._track_best(metrics, monitored)
                self.callbacks.on_epoch_end(self, metrics)
                # After the callbacks: a checkpoint then never runs ahead of the run folder.
                self.save_checkpoint()
                if self._interrupted:
                    raise Interrupted()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        self.callbacks.on_fit_end(self)
        return self.state.history

    def _catch_sigint(self):
        # Ctrl-C only sets a flag; the loop checkpoints at the next step boundary and stops.
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum, frame):
            self._interrupted = True
        return signal.signal(signal.SIGINT, handler)

    def _track_best(self, metrics: dict, score: float) -> None:
        st = self.state
        metrics["best"] = st.best_val_loss is None or score < st.best_val_loss
        if metrics["best"]:
            st.best_val_loss, st.bad_epochs = score, 0
        else:
            st.bad_epochs += 1
            patience = self.config.early_stopping_patience
            if patience and st.bad_epochs >= patience:
                st.stopped_early = True

    def _check_finite(self, epoch: int, steps_before: int) -> None:
        """Stop with a clear error if a pending step's loss is NaN or Inf
        (one host sync per check, not per step)."""
        bad = self.tally.first_non_finite()
        if distributed.world_size() > 1:   # all ranks must stop together, or the others hang
            flag = torch.tensor(bad, device=self.device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            bad = int(flag)
        if bad >= 0:
            step = steps_before + self.state.step_in_epoch - self.tally.pending + bad + 1
            raise AekitError(
                f"training diverged: the loss became NaN or Inf at epoch {epoch}, step {step}; "
                "the last good checkpoint is kept: lower --lr or set train.grad_clip"
            )

    def _run_epoch(self, epoch: int) -> dict:
        cfg, model = self.config, self.model
        self.callbacks.on_epoch_start(self, epoch)
        model.train()
        order = epoch_order(len(self.train_images), cfg.seed, epoch).to(self.device)
        start = time.perf_counter()
        steps = self.steps_per_epoch
        first = self.state.step_in_epoch
        steps_before = self.state.step - first
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        last_partial = steps - 1 if len(self.train_images) % cfg.batch_size else -1
        for i in range(first, steps):
            idx = distributed.shard(order[i * cfg.batch_size:(i + 1) * cfg.batch_size])
            x = model.preprocess(self.gather(idx))
            loss_fn = self.eager_loss_fn if i == last_partial else self.loss_fn
            if self.autocast_dtype is None:
                out = loss_fn(x, self.state.step)
            else:
                with torch.autocast(self.device.type, dtype=self.autocast_dtype):
                    out = loss_fn(x, self.state.step)
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(out.total).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                out.total.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip, foreach=True)
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            if self.critic_optimizer is not None:
                critic_loss = model.critic_loss(x)
                self.critic_optimizer.zero_grad(set_to_none=True)
                critic_loss.backward()
                self.critic_optimizer.step()
            self.state.step += 1
            self.state.step_in_epoch = i + 1
            self.tally.add(out.total, len(idx), out.terms)
            if (i + 1) % cfg.nan_check_every == 0:   # a chunk ends at fixed steps only (tally.py)
                self._check_finite(epoch, steps_before)
                self.tally.fold()
            self.callbacks.on_step_end(self, epoch, i + 1, steps)
            checkpoint_now = cfg.checkpoint_every and self.state.step % cfg.checkpoint_every == 0 and i + 1 < steps
            if checkpoint_now or self._interrupted:   # never checkpoint a diverged model
                self._check_finite(epoch, steps_before)
            if (checkpoint_now or self._interrupted) and i + 1 < steps:
                self.save_checkpoint()
            if self._interrupted:
                if i + 1 == steps:   # finish the epoch's bookkeeping first
                    break
                raise Interrupted()
        self._check_finite(epoch, steps_before)
        self.tally.fold()
        train_seconds = time.perf_counter() - start
        n = len(self.train_images)
        train_terms = {name: float(distributed.all_reduce_sum(total)) / n for name, total in self.tally.sums.items()}
        # val_* on the model's task (a denoiser's noisy inputs), + val_clean_* for a denoiser.
        val_terms, self.val_codes = {}, None
        if len(self.val_images):
            val_terms, self.val_codes = validate(model, self.val_images, cfg.eval_batch_size, self.state.step, cfg.seed)
        return self._metrics(epoch, {"train": train_terms, **val_terms}, train_seconds, time.perf_counter() - start)

    def _metrics(self, epoch, terms_by_prefix: dict[str, dict], train_seconds, seconds) -> dict:
        metrics = {"epoch": epoch, "step": self.state.step}
        for prefix, terms in terms_by_prefix.items():
            for name, value in terms.items():
                metrics[f"{prefix}_{name}"] = value
            if "recon" in terms:
                metrics[f"{prefix}_recon_per_pixel"] = terms["recon"] / self.n_pixels
        metrics["seconds"] = seconds
        metrics["samples_per_s"] = len(self.train_images) / train_seconds if train_seconds > 0 else float("nan")
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        return metrics
