"""Every case of the bad-input corpus (tests/bad_inputs.py) through the CLI
or the Python API: a non-zero exit (or AekitError), exactly one stderr line
`aekit: error: ...` holding the case's phrases (the problem and its fix), no
traceback, and the case's folder byte for byte as it was before, folders
included (nothing written, nothing damaged, no folder left behind).

CLI cases run in this process (`aekit.cli.main.main(argv)`, as the `aekit`
script calls it): a subprocess costs ~1.5 s of imports each. A few cases run
as real processes to prove the real exit path."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aekit.errors import AekitError
from bad_inputs import CASES, Case, Env
from test_apps_support import digits_npz, trained_run


def snapshot(folder: Path) -> dict[str, str]:
    """{relative path: sha256, or "folder"} of everything under `folder`: a
    failed command that leaves an empty folder behind changes it too."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder"
            for p in sorted(folder.rglob("*"))}


def full_disk(monkeypatch) -> None:
    """Every fsync fails as on a full disk (ext4 and XFS report a failed
    delayed allocation there): what the atomic writes see when space runs out."""
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, "fsync", no_space)


FAULTS = {"full disk": full_disk}


def run_in_process(argv: list[str], capsys) -> tuple[int, str]:
    from aekit.cli.main import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(argv)   # any exception but SystemExit is a traceback for the user, and fails the test here
    return exited.value.code, capsys.readouterr().err


def run_process(argv: list[str], cwd: Path) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "aekit", *argv], capture_output=True, text=True, cwd=cwd,
                            timeout=300)
    return result.returncode, result.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_input_is_one_line_and_changes_nothing(case: Case, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AEKIT_CACHE_DIR", str(tmp_path.parent / f"{tmp_path.name}-cache"))
    env = Env(tmp_path, lambda: trained_run("fashion-ae"), digits_npz)
    if case.setup:
        case.setup(env)
    argv = [env.fill(arg) for arg in case.argv]
    if case.api is not None:   # made now, so that the snapshot holds them
        env.run, env.digits
    before = snapshot(tmp_path)
    if case.patch:
        FAULTS[case.patch](monkeypatch)
    if case.api is not None:
        with pytest.raises(AekitError) as raised:
            case.api(env)
        lines = [f"aekit: error: {raised.value}"]
        assert "\n" not in str(raised.value)
    else:
        code, err = run_process(argv, tmp_path) if case.subprocess else run_in_process(argv, capsys)
        assert code not in (0, None), err
        assert "Traceback" not in err, err
        lines = err.splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("aekit: error: "), err
    monkeypatch.undo()
    for phrase in case.expect:
        assert phrase in lines[0], f"{phrase!r} not in {lines[0]!r}"
    assert snapshot(tmp_path) == before, "files were written or changed"


def test_the_corpus_holds_at_least_80_cases_over_every_entry_point():
    assert len(CASES) > 80   # docs/guarantees.md says "more than 80"
    assert len({c.name for c in CASES}) == len(CASES)
    commands = {c.argv[0] for c in CASES if c.argv}
    assert {"train", "evaluate", "export", "encode", "decode", "reconstruct", "sample", "interpolate",
            "denoise", "anomaly", "latent-map", "info", "compress", "decompress", "sweep", "explore",
            "report", "pretrained"} <= commands
    assert sum(c.api is not None for c in CASES) >= 5 and sum(c.subprocess for c in CASES) >= 2


@pytest.mark.parametrize("raised, code, start", [
    (KeyboardInterrupt(), 130, "aekit: interrupted"),
    # click turns an EOFError into the same Abort as Ctrl-C: an empty file read as "interrupted" before.
    (EOFError("No data left in file"), 2, "aekit: error: cannot read an input file"),
], ids=["Ctrl-C", "EOFError"])
def test_only_ctrl_c_reads_as_interrupted(raised, code, start, monkeypatch, capsys):
    import aekit.data

    def fail():
        raise raised
    monkeypatch.setattr(aekit.data, "list_datasets", fail)   # what `aekit datasets` calls
    exit_code, err = run_in_process(["datasets"], capsys)
    lines = err.splitlines()
    assert exit_code == code and len(lines) == 1 and lines[0].startswith(start), err
