"""The README's test command is exactly what CI runs."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    readme = (REPO / "README.md").read_text()
    assert ci.startswith("python3 -m venv .venv") and "pytest" in ci
    assert f"\n{ci}\n" in readme


def test_readme_quickstart_runs_offline_on_the_embedded_sample():
    readme = (REPO / "README.md").read_text()
    line = next(l for l in readme.splitlines() if "aekit train" in l and l.startswith("python3 -m venv"))
    assert "--data digits-sample" in line and "torch==2.13.0" in line
