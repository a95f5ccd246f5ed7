"""The epoch's running loss sums, kept off the training step's path.

A step only files its (detached) loss values here: no tensor op, so no
kernel launch or allocation between the optimiser step and the next
forward. Adding them up, and looking for a NaN/Inf loss, happens once per
chunk of steps (`fold`), as a few vectorised ops. Summing and checking per
step cost ~38 small ops a step (vae-kingma, counted with torch.profiler
against the like-for-like loop of benchmarks/hand_loop.py, 2026-11-30);
now 3 detaches remain.

Bitwise resume: where a chunk ends decides how the floats round, so chunks
end only at fixed points of the epoch (every `nan_check_every` steps and at
its end), never where a checkpoint happens to fall. A checkpoint saves the
folded sums *and* the steps not yet folded (`state`), so a resumed run folds
the very same chunks as an uninterrupted one.
"""

from __future__ import annotations

import torch


class EpochTally:
    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}   # "loss" (Σ batch mean × batch size) and Σ of each term
        self._totals: list[torch.Tensor] = []     # per pending step: the batch's mean loss, 0-d
        self._sizes: list[int] = []
        self._terms: dict[str, list[torch.Tensor]] = {}   # per term: per pending step, per image [B]
        self._stack: torch.Tensor | None = None

    def add(self, total: torch.Tensor, size: int, terms: dict[str, torch.Tensor]) -> None:
        """File one step's loss (`total`: the batch mean; `terms`: per image)."""
        # Summed in fp32 whatever the step's dtype: a bf16 running sum stops
        # growing once it passes ~256x a step's loss (an epoch's mean froze).
        self._totals.append(total.detach().float())
        self._sizes.append(size)
        for name, value in terms.items():
            self._terms.setdefault(name, []).append(value.detach().float())

    @property
    def pending(self) -> int:
        return len(self._totals)

    def first_non_finite(self) -> int:
        """Index among the pending steps of the first NaN/Inf loss, or -1 (one host sync)."""
        if not self._totals:
            return -1
        bad = ~torch.isfinite(self._stacked_totals())
        return int(bad.int().argmax()) if bool(bad.any()) else -1

    def fold(self) -> None:
        """Add the pending steps into the sums."""
        if not self._totals:
            return
        for name, value in self._folded().items():
            self.sums[name] = self.sums[name] + value if name in self.sums else value
        self._totals, self._sizes, self._terms, self._stack = [], [], {}, None

    def _stacked_totals(self) -> torch.Tensor:
        """The pending totals as one vector, stacked once per chunk (a check then a fold)."""
        if self._stack is None or len(self._stack) != len(self._totals):
            self._stack = torch.stack(self._totals)
        return self._stack

    def _folded(self) -> dict[str, torch.Tensor]:
        totals = self._stacked_totals()
        sizes = torch.tensor(self._sizes, dtype=totals.dtype, device=totals.device)
        out = {"loss": (totals * sizes).sum()}
        for name, values in self._terms.items():
            out[name] = torch.cat(values).sum()
        return out

    def loss_so_far(self) -> torch.Tensor | None:
        """Σ loss over the epoch's steps so far, pending ones included, leaving
        the chunks as they are (for a progress display; not bitwise the sum
        that `fold` will give)."""
        folded = self.sums.get("loss")
        if self._totals:
            pending = self._folded()["loss"]
            return pending if folded is None else folded + pending
        return folded

    def reduce(self, reduce_sum) -> None:
        """Fold, then replace the sums by `reduce_sum(sum)` (an all-reduce
        under torchrun)."""
        self.fold()
        self.sums = {name: reduce_sum(value) for name, value in self.sums.items()}

    # -- checkpoints ------------------------------------------------------
    def state(self) -> dict[str, torch.Tensor]:
        """Flat CPU tensors: the sums, and the pending steps as they are."""
        out = {f"sums.{name}": v.detach().to("cpu").reshape(1).clone() for name, v in self.sums.items()}
        if self._totals:
            out["pending.totals"] = torch.stack(self._totals).to("cpu")
            out["pending.sizes"] = torch.tensor(self._sizes, dtype=torch.int64)
            for name, values in self._terms.items():
                out[f"pending.terms.{name}"] = torch.cat(values).to("cpu")
        return out

    def load_state(self, tensors: dict[str, torch.Tensor], names: list[str], device) -> None:
        """Restore from `state()`'s tensors; `names`: the sums saved."""
        self.sums = {name: tensors[f"sums.{name}"].to(device).reshape(()) for name in names}
        self._totals, self._sizes, self._terms, self._stack = [], [], {}, None
        if "pending.totals" in tensors:
            # One pending "step" per saved vector: folding concatenates and
            # sums them exactly as it would the original steps.
            self._totals = list(tensors["pending.totals"].to(device).unbind())
            self._sizes = tensors["pending.sizes"].tolist()
            for key, value in tensors.items():
                if key.startswith("pending.terms."):
                    self._terms[key[len("pending.terms."):]] = [value.to(device)]

    def clear(self) -> None:
        self.sums, self._totals, self._sizes, self._terms, self._stack = {}, [], [], {}, None
