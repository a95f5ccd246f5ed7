"""Callbacks: how the world watches a run without living inside the loop
(run folders, progress bars, TensorBoard). Keras-style hooks; every method is
optional. Step hooks get no loss value on purpose: reading one would force a
host sync every step."""

from __future__ import annotations


class Callback:
    # Under torchrun, callbacks run on rank 0 only (it writes files and shows
    # progress); one that must see every rank says so.
    all_ranks: bool = False

    def on_fit_start(self, trainer) -> None: ...
    def on_epoch_start(self, trainer, epoch: int) -> None: ...
    def on_step_end(self, trainer, epoch: int, step_in_epoch: int, steps_per_epoch: int) -> None: ...
    def on_epoch_end(self, trainer, metrics: dict) -> None: ...
    def on_fit_end(self, trainer) -> None: ...


class CallbackList(Callback):
    """Calls each hook on every callback, in order. The per-step hook goes
    only to callbacks that define one: most do not, and this runs every step."""

    def __init__(self, callbacks):
        self.callbacks = list(callbacks)
        self._on_step = [cb for cb in self.callbacks if type(cb).on_step_end is not Callback.on_step_end]

    def on_fit_start(self, trainer) -> None:
        for cb in self.callbacks:
            cb.on_fit_start(trainer)

    def on_epoch_start(self, trainer, epoch: int) -> None:
        for cb in self.callbacks:
            cb.on_epoch_start(trainer, epoch)

    def on_step_end(self, trainer, epoch: int, step_in_epoch: int, steps_per_epoch: int) -> None:
        for cb in self._on_step:
            cb.on_step_end(trainer, epoch, step_in_epoch, steps_per_epoch)

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(trainer, metrics)

    def on_fit_end(self, trainer) -> None:
        for cb in self.callbacks:
            cb.on_fit_end(trainer)
