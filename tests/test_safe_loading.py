"""Nothing that loads a user's file executes code from it (issue #14).

Statically: no unpickling, unsafe YAML, eval or exec anywhere in src/ (the
`torch.load` rule is tests/test_model_file_errors.py's); every np.load says
allow_pickle=False. Dynamically, the bad-input corpus (tests/bad_inputs.py)
gives aekit a pickle as a model, a pickled .npy and a YAML config whose tag
would run a command, and checks that each is refused and nothing ran."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "aekit"

FORBIDDEN = {
    r"\bpickle\.loads?\(|\bimport pickle\b|\bcPickle\b|\bdill\b|\bjoblib\.load\(": "unpickling",
    r"\bmarshal\.loads?\(": "marshal",
    r"\byaml\.(load|full_load|unsafe_load|load_all|unsafe_load_all)\(": "YAML that can build Python objects",
    r"(?<![.\w])eval\(|(?<![.\w])exec\(": "eval/exec",
    r"allow_pickle\s*=\s*True": "numpy pickles",
}


def source_lines():
    for path in sorted(SRC.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if code.strip():
                yield path, number, code


def test_no_loader_in_the_library_can_run_code_from_a_file():
    found = [f"{path.relative_to(SRC)}:{number}: {why}: {code.strip()}"
             for path, number, code in source_lines()
             for pattern, why in FORBIDDEN.items() if re.search(pattern, code)]
    assert not found, "\n".join(found)


def test_every_np_load_refuses_pickles():
    loads = [(path, number, code) for path, number, code in source_lines() if "np.load(" in code]
    assert loads   # the scan sees the loaders it guards
    for path, number, code in loads:
        assert "allow_pickle=False" in code, f"{path.relative_to(SRC)}:{number}: {code.strip()}"
