"""What RUN/report.html costs at the end of `aekit train`: the report of a
finished run, timed in the training process (model and data already in
memory, as the hook has them), and from the run folder (`aekit report RUN`,
which loads the model and its data first).

    python benchmarks/report_cost.py                       # fashion-ae on digits-sample, 5 rounds
    python benchmarks/report_cost.py --preset vae-kingma --data mnist --rounds 3

The first report of a process pays one-time costs (oneDNN's and matplotlib's
first calls) that a training run has already paid; it is printed apart, and
the figures are medians of the rounds after it: wall seconds and the
process's CPU seconds (all threads).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aekit  # noqa: E402

aekit.tune_cpu()

from machine import cpu_name  # noqa: E402


def timed(call) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="fashion-ae")
    parser.add_argument("--data", default="digits-sample")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        run = aekit.train(args.preset, data=args.data, epochs=args.epochs, out=Path(tmp) / "run")
        training = sum(m["seconds"] for m in run.history)
        for name, source in (("in the training process (the hook)", run), ("from the run folder", run.dir)):
            first = timed(lambda: aekit.report(source))
            rounds = [timed(lambda: aekit.report(source)) for _ in range(args.rounds)]
            wall = statistics.median(r[0] for r in rounds)
            cpu = statistics.median(r[1] for r in rounds)
            print(f"report {name}: {wall:.2f} s wall, {cpu:.2f} s CPU (median of {args.rounds}; "
                  f"first {first[0]:.2f} s wall)")
        size = (run.dir / "report.html").stat().st_size
    print(f"{args.preset} on {args.data}, {args.epochs} epoch(s) of {training:.1f} s; report.html {size / 1e3:.0f} kB")
    print(f"{cpu_name()}; {time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
