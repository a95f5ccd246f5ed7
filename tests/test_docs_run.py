"""The documentation runs: every fenced block marked ```bash run or ```python run
in README.md and docs/**/*.md is executed, and a block that fails fails its file.

The blocks of one file run in order, in one fresh working directory of their
own (so a page may train a run in its first block and use it in the next),
with AEKIT_DATA_DIR set to the real data and downloads forbidden. `bash`
blocks run under `bash -euo pipefail` with this interpreter's bin folder first
on PATH (so `aekit` and `python` are the ones under test); `python` blocks
run through this interpreter. One test per file, so that xdist spreads files.

Plain ```bash / ```python blocks are shown, not run: the docs use them for
what CI cannot do (a GPU, several machines, a download, hours of training).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUNNABLE = {"bash", "python"}
# A block that takes longer than this is a docs bug (the budgets are a few
# seconds a block); the limit keeps a hung block from hanging the suite.
BLOCK_TIMEOUT_S = 300
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Block:
    language: str   # "bash" or "python"
    line: int       # 1-based line of the opening fence
    code: str


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def runnable_blocks(text: str) -> list[Block]:
    """The fenced blocks whose info string is `bash run` or `python run`, in order.

    Follows CommonMark's fences: a block closes at a fence of the same
    character at least as long as the one that opened it, so a ```` fence can
    show ``` blocks inside it without them being run."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        fence, words = opening["fence"], opening["info"].split()
        body, j = [], i + 1
        while j < len(lines):
            closing = FENCE.match(lines[j])
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence) \
                    and not closing["info"].strip():
                break
            body.append(lines[j])
            j += 1
        if len(words) >= 2 and words[0] in RUNNABLE and words[1] == "run":
            blocks.append(Block(words[0], i + 1, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def files_with_blocks() -> list[Path]:
    return [path for path in doc_files() if runnable_blocks(path.read_text())]


def block_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # conftest sets it to the real data; absolute, as the blocks run in a folder of their own (CI gives ../shared/data)
    env["AEKIT_DATA_DIR"] = str(Path(os.environ["AEKIT_DATA_DIR"]).resolve())
    env["AEKIT_OFFLINE"] = "1"
    env["MPLBACKEND"] = "Agg"
    return env


def run_block(block: Block, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    if block.language == "bash":
        argv = ["bash", "-euo", "pipefail", "-c", block.code]
    else:
        argv = [sys.executable, "-c", block.code]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)


def test_the_parser_takes_only_marked_blocks():
    text = "\n".join([
        "```bash run", "echo one", "```",
        "```bash", "echo shown only", "```",
        "````markdown", "```python run", "print('inside an outer fence')", "```", "````",
        "~~~python run", "print('two')", "~~~",
    ])
    blocks = runnable_blocks(text)
    assert [(b.language, b.line, b.code) for b in blocks] == [
        ("bash", 1, "echo one\n"), ("python", 12, "print('two')\n")]


def test_the_guides_are_collected():
    # Guards against a parser change that silently collects nothing (no file, no test, no failure).
    names = {path.name for path in files_with_blocks()}
    assert {"getting-started.md", "custom-model.md", "training.md"} <= names, names


@pytest.mark.parametrize("path", files_with_blocks(), ids=lambda p: str(p.relative_to(REPO)))
def test_doc_blocks_run(path: Path, tmp_path: Path):
    env = block_env()
    name = path.relative_to(REPO)
    for block in runnable_blocks(path.read_text()):
        try:
            done = run_block(block, tmp_path, env)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name}:{block.line}: the {block.language} block ran past {BLOCK_TIMEOUT_S} s")
        if done.returncode != 0:
            tail = (done.stderr.strip() or done.stdout.strip())[-3000:]
            pytest.fail(f"{name}:{block.line}: the {block.language} block exited {done.returncode}\n{tail}",
                        pytrace=False)
