"""One run's clock, epoch by epoch: set-up, the first epoch, the steady
epochs after it, and the finish, kept apart.

A run's first epoch pays for things later epochs do not (a compile under
`--compile`, the first checkpoint, warm caches), so a run's throughput is
read from its steady epochs, 2..N; what the first epoch cost beyond a
steady one is printed on its own (for `+compile`: the compile)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field


@dataclass
class RunClock:
    images: int                        # training images per epoch
    start: float = field(default_factory=time.perf_counter)
    loop_start: float | None = None    # set-up done: the first epoch begins
    epoch_ends: list[float] = field(default_factory=list)
    loop_rates: list[float] = field(default_factory=list)   # training-loop img/s per epoch
    end: float | None = None

    def set_up(self) -> None:
        self.loop_start = time.perf_counter()

    def epoch_done(self, loop_rate: float | None = None) -> None:
        """`loop_rate`: the epoch's training steps alone (img/s), where the run
        does more in an epoch than train (aekit validates and writes files)."""
        self.epoch_ends.append(time.perf_counter())
        seconds = self.epoch_ends[-1] - (self.epoch_ends[-2] if len(self.epoch_ends) > 1 else self.loop_start)
        self.loop_rates.append(loop_rate if loop_rate is not None else self.images / seconds)

    def finish(self) -> "RunClock":
        self.end = time.perf_counter()
        return self

    # -- figures ---------------------------------------------------------------
    @property
    def setup_s(self) -> float:
        return self.loop_start - self.start

    @property
    def steady_epoch_s(self) -> float:
        """Mean wall seconds of epochs 2..N (all of an epoch: for aekit its
        validation, files and checkpoint too)."""
        if len(self.epoch_ends) < 2:
            raise ValueError("a run needs 2 epochs or more to have a steady epoch")
        return (self.epoch_ends[-1] - self.epoch_ends[0]) / (len(self.epoch_ends) - 1)

    @property
    def first_extra_s(self) -> float:
        """What the first epoch took beyond a steady one."""
        return self.epoch_ends[0] - self.loop_start - self.steady_epoch_s

    @property
    def finish_s(self) -> float:
        return self.end - self.epoch_ends[-1]

    @property
    def steady_img_s(self) -> float:
        return self.images / self.steady_epoch_s

    @property
    def steady_loop_img_s(self) -> float:
        """Training steps alone over epochs 2..N (total images / total seconds)."""
        steady = self.loop_rates[1:]
        return len(steady) * self.images / sum(self.images / r for r in steady)

    @property
    def whole_img_s(self) -> float:
        """All epochs' images over the whole wall time, set-up included."""
        return len(self.epoch_ends) * self.images / (self.end - self.start)


def late_over_first(rates: list[float], first: int = 2) -> float:
    """Mean img/s of epochs first+1..N over that of epochs 1..first: where
    denormal floats slow a run down, its late epochs show it."""
    return statistics.mean(rates[first:]) / statistics.mean(rates[:first])


def first_vs_late(rates: list[float], first: int = 2) -> str:
    if len(rates) <= first:
        return "too few epochs for first vs late"
    late = f"epochs {first + 1}-{len(rates)}" if len(rates) > first + 1 else f"epoch {len(rates)}"
    return (f"epochs 1-{first} {statistics.mean(rates[:first]):,.0f} img/s, {late} "
            f"{statistics.mean(rates[first:]):,.0f} img/s (late / first {late_over_first(rates, first):.2f})")
