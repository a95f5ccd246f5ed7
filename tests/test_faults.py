"""Faults for real (issue #14): SIGKILL at random moments of a training run,
inside its checkpoint writes too, then --resume to a bitwise-identical end;
two processes on one run folder (a training run and another training, an
evaluate or a report); SIGKILL in the middle of a job's write (evaluate,
compress, encode, sweep, report); a download cut short or served corrupt,
then retried.

The kill points come from one seed, printed at the start and named in every
failure: AEKIT_FAULT_SEED=<seed> replays them. A kill "in a write" stops the
process inside an atomic write with tests/stalled_aekit.py (its temporary
file cut to half, the rename not yet done) and kills it there, so those kills
land mid-write every time rather than by luck."""

from __future__ import annotations

import fnmatch
import http.server
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from aekit.data.checksum import sha256_file
from helpers import checkpoint_generation
from test_apps_support import digits_npz, trained_run

FAULT_SEED = int(os.environ.get("AEKIT_FAULT_SEED") or random.SystemRandom().randrange(2**32))
STALLED = [sys.executable, str(Path(__file__).with_name("stalled_aekit.py"))]
AEKIT = [sys.executable, "-m", "aekit"]
# vae-kingma draws noise every step, so exact resume needs its RNG state from
# the checkpoint. 1,350 training images at batch 64: 21 steps an epoch, a
# checkpoint after every one (63 generations in 3 epochs; kills take ~25).
PRESET, EPOCHS, BATCH = "vae-kingma", 3, 64
KILLS = 10


def start(args: list[str], stall: str | None = None, at: int = 1, mark: Path | None = None,
          release: bool = False) -> subprocess.Popen:
    """`aekit ARGS`; with `stall`, held in that write (tests/stalled_aekit.py): killed
    there, or with `release` going on whole once `mark` is removed."""
    env = dict(os.environ)
    command = AEKIT
    if stall is not None:
        command = STALLED
        env.update(AEKIT_TEST_STALL=stall, AEKIT_TEST_STALL_AT=str(at), AEKIT_TEST_STALL_MARK=str(mark),
                   AEKIT_TEST_STALL_RELEASE="1" if release else "0")
    return subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def wait_for(proc: subprocess.Popen, ready) -> bool:
    """Poll until `ready()`; False if the process ended first."""
    while not ready():
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    return True


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()


def assert_loadable_checkpoint(run: Path, context: str) -> int:
    """The run's last checkpoint: last.json whole and naming a tensor file that loads whole."""
    meta = json.loads((run / "checkpoint" / "last.json").read_text())
    tensors = load_file(str(run / "checkpoint" / meta["tensors"]))
    assert "rng.torch" in tensors and any(k.startswith("model.") for k in tensors), context
    assert meta["generation"] >= 1, context
    return meta["generation"]


def losses(run: Path) -> list[list]:
    """(epoch, step, train_loss, val_loss) of each line of a run's metrics.jsonl."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [[row[k] for k in ("epoch", "step", "train_loss", "val_loss")] for row in rows]


def test_sigkill_ten_times_in_steps_and_checkpoint_writes_then_resume_is_bitwise_identical(tmp_path, capsys):
    import aekit
    from aekit.cli.main import main

    data = str(digits_npz())
    args = ["train", "--preset", PRESET, "--data", data, "--epochs", str(EPOCHS), "--seed", "5",
            "--batch-size", str(BATCH), "--checkpoint-every", "1"]
    reference = aekit.train(PRESET, data=data, epochs=EPOCHS, seed=5, batch_size=BATCH, checkpoint_every=1,
                            out=tmp_path / "reference")
    print(f"kill points drawn with AEKIT_FAULT_SEED={FAULT_SEED}")
    rng = random.Random(FAULT_SEED)
    run, mark = tmp_path / "killed", tmp_path / "stalled"
    kills: list[str] = []
    replay = lambda: f" (kills so far: {kills}; replay with AEKIT_FAULT_SEED={FAULT_SEED})"  # noqa: E731
    argv = [*args, "--out", str(run)]
    while len(kills) < KILLS:
        # The first kill is in a write, where the process waits: the lock is checked there.
        in_write = not kills or rng.random() < 0.5
        if in_write:
            # Not the first run's first checkpoint: before it there is nothing to resume from.
            stall, at = rng.choice(["last-*.safetensors", "last.json"]), rng.randint(2 if not kills else 1, 3)
            mark.unlink(missing_ok=True)
            proc = start(argv, stall, at, mark)
            assert wait_for(proc, mark.exists), proc.stderr.read().decode() + replay()
            kills.append(f"in write {at} of {stall}")
            if len(kills) == 1:
                # A second process on the same folder: refused at once, naming the first.
                capsys.readouterr()
                with pytest.raises(SystemExit) as exited:
                    main(["train", "--resume", str(run)])
                err = capsys.readouterr().err.splitlines()
                assert exited.value.code == 2 and len(err) == 1, err
                assert f"is in use by another aekit process (pid {proc.pid})" in err[0], err
        else:
            target = checkpoint_generation(run) + rng.randint(1, 3)
            proc = start(argv)
            assert wait_for(proc, lambda: checkpoint_generation(run) >= target), \
                proc.stderr.read().decode() + replay()
            time.sleep(rng.uniform(0, 0.03))   # anywhere in the next step
            kills.append(f"after generation {target}")
        kill(proc)
        assert_loadable_checkpoint(run, replay())
        argv = ["train", "--resume", str(run)]   # the dead process holds no lock: the next start proceeds
    final = start(argv)
    out, err = final.communicate(timeout=600)
    assert final.returncode == 0, err.decode() + replay()
    assert checkpoint_generation(run) == checkpoint_generation(reference.dir), replay()
    ours, theirs = load_file(str(run / "model.safetensors")), load_file(str(reference.dir / "model.safetensors"))
    assert ours.keys() == theirs.keys()
    for name in ours:
        assert torch.equal(ours[name], theirs[name]), f"{name} differs" + replay()
    assert losses(run) == losses(reference.dir), replay()
    assert not (run / "run.lock").exists()   # the last process let go of it and removed it
    # The half-written temporary files of the kills in writes: removed by the next process under the lock.
    assert [p for p in run.rglob(".*") if p.is_file()] == [], replay()


@pytest.fixture(scope="module")
def run_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("faults") / "run"
    shutil.copytree(trained_run("fashion-ae"), copy)
    return copy


def evaluate_job(run: Path, tmp: Path):
    return ["evaluate", str(run), "--limit", "60", "--no-probes", "--nll-samples", "0"], run / "evaluation.json"


def compress_job(run: Path, tmp: Path):
    return ["compress", str(run), str(tmp / "few.npy"), "--out", str(tmp / "x.aek")], tmp / "x.aek"


def encode_job(run: Path, tmp: Path):
    return ["encode", str(run), str(tmp / "few.npy"), "--out", str(tmp / "codes.npy")], tmp / "codes.npy"


def sweep_job(run: Path, tmp: Path):
    """A finished two-run sweep, run again: it retrains nothing and rewrites its tables."""
    import aekit

    args = dict(sets=["model.bottleneck.dim=2,3"], data=str(digits_npz()), epochs=1, seed=0, out=tmp / "sweep")
    aekit.sweep("dense-ae-32", **args)
    argv = ["sweep", "--preset", "dense-ae-32", "--set", args["sets"][0], "--data", args["data"], "--epochs", "1",
            "--seed", "0", "--out", str(args["out"])]
    return argv, args["out"] / "sweep.csv"


def report_job(run: Path, tmp: Path):
    """Of a copy of its own: the evaluate job leaves the shared run's evaluation.json a stand-in, not JSON."""
    copy = tmp / "run"
    shutil.copytree(trained_run("fashion-ae"), copy)
    return ["report", str(copy), "-o", str(tmp / "page.html")], tmp / "page.html"


# Each job: (argv, its output), an earlier version of which must survive a SIGKILL mid-write.
JOBS = {"evaluate": evaluate_job, "compress": compress_job, "encode": encode_job, "sweep": sweep_job,
        "report": report_job}


@pytest.mark.parametrize("job", sorted(JOBS))
def test_sigkill_in_the_middle_of_a_job_s_write_leaves_the_earlier_file(job, run_copy, tmp_path):
    with np.load(digits_npz()) as archive:
        np.save(tmp_path / "few.npy", archive["x_test"][:20])   # 20 real digits: the process start is the cost
    argv, target = JOBS[job](run_copy, tmp_path)
    target.write_bytes(b"the earlier file, whole\n")
    mark = tmp_path / "stalled"
    proc = start(argv, target.name, 1, mark)
    assert wait_for(proc, mark.exists), proc.stderr.read().decode()
    half_written = Path(mark.read_text())
    assert half_written.exists() and half_written.parent == target.parent
    kill(proc)
    assert target.read_bytes() == b"the earlier file, whole\n"
    # What a SIGKILL leaves: the hidden temporary file, never read, and nothing else new.
    assert fnmatch.fnmatch(half_written.name, f".{target.name}.*")


def test_evaluate_and_report_wait_for_a_run_that_trains_then_work(tmp_path, capsys):
    """They write evaluation.json and report.html into the run folder: while
    another process trains there, each is refused in one line naming it."""
    from aekit.cli.main import main

    run = tmp_path / "run"
    shutil.copytree(trained_run("fashion-ae"), run)
    page = (run / "report.html").read_bytes()   # the training's
    mark = tmp_path / "held"
    # One more epoch of the 8-epoch run, held in its first checkpoint write: the lock is held there.
    trainer = start(["train", "--resume", str(run), "--epochs", "9"], "last.json", 1, mark, release=True)
    assert wait_for(trainer, mark.exists), trainer.stderr.read().decode()
    evaluate = ["evaluate", str(run), "--limit", "60", "--no-probes", "--nll-samples", "0"]
    try:
        for argv in (evaluate, ["report", str(run)]):
            capsys.readouterr()
            with pytest.raises(SystemExit) as exited:
                main(argv)
            err = capsys.readouterr().err.splitlines()
            assert exited.value.code == 2 and len(err) == 1, (argv, err)
            assert f"(pid {trainer.pid}): try again when it finishes" in err[0], err
        assert not (run / "evaluation.json").exists() and (run / "report.html").read_bytes() == page
    finally:
        mark.unlink(missing_ok=True)   # the trainer goes on
        out, err = trainer.communicate(timeout=300)
    assert trainer.returncode == 0, err.decode()
    # Its own report, written at its end under the lock it holds (re-entrant: no warning "not written").
    assert b"not written" not in err, err.decode()
    for argv in (evaluate, ["report", str(run)]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 0, capsys.readouterr().err
    assert (run / "evaluation.json").is_file() and (run / "report.html").read_bytes() != page
    assert not (run / "run.lock").exists()


class _FlakyMirror(http.server.BaseHTTPRequestHandler):
    """Serves one file: cut short (a Content-Length promising it whole, then
    the connection closed), then with a flipped byte, then whole."""
    body: bytes
    attempts: list[str]

    def log_message(self, *args):
        pass

    def do_GET(self):
        n = len(self.attempts)
        self.attempts.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if n == 0:
            self.wfile.write(self.body[: len(self.body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        body = bytearray(self.body)
        if n == 1:
            body[len(body) // 2] ^= 0x01
        self.wfile.write(bytes(body))


def test_a_download_cut_short_then_corrupt_is_never_used_and_a_retry_succeeds(tmp_path, shared_data, monkeypatch):
    from aekit.data import fetch
    from aekit.data.registry import BUILTINS
    from aekit.errors import DataError

    monkeypatch.delenv("AEKIT_OFFLINE", raising=False)
    files = BUILTINS["mnist"].files
    # Every file but the one served here is already in place; the test labels (10 kB) are served.
    target = tmp_path / "data" / "mnist"
    target.mkdir(parents=True)
    served = next(f for f in files if f.name == "t10k-labels-idx1-ubyte.gz")
    for f in files:
        if f is not served:
            os.symlink(shared_data / "mnist" / f.name, target / f.name)
    attempts: list[str] = []
    handler = type("Handler", (_FlakyMirror,), {"body": (shared_data / "mnist" / served.name).read_bytes(),
                                                "attempts": attempts})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        for expected in ("expected", "wrong checksum"):
            with pytest.raises(DataError) as raised:
                fetch("mnist", data_dir=tmp_path / "data", mirrors=[url])
            message = str(raised.value)
            assert "\n" not in message and served.name in message and expected in message, message
            # Nothing of it was kept: no file, no temporary file.
            assert sorted(p.name for p in target.iterdir()) == sorted(f.name for f in files if f is not served)
        paths = fetch("mnist", data_dir=tmp_path / "data", mirrors=[url])
    finally:
        server.shutdown()
        server.server_close()
    assert len(attempts) == 3
    assert sha256_file(paths["test_labels"]) == served.sha256
    assert sorted(p.name for p in target.iterdir()) == sorted(f.name for f in files)
