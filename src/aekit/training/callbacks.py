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
    def __init__(self, callbacks):
        self.callbacks = list(callbacks)

    def __getattribute__(self, name):
        if name.startswith("on_"):
            def call_all(*args, **kwargs):
                for cb in object.__getattribute__(self, "callbacks"):
                    getattr(cb, name)(*args, **kwargs)
            return call_all
        return object.__getattribute__(self, name)
