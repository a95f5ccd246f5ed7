"""docs/reference/config.md from the config dataclasses: every key, its type,
its default, and its meaning taken from the comments beside (or above) the
field in the source and from the classes' docstrings."""

from __future__ import annotations

import dataclasses
import inspect
import io
import json
import re
import textwrap
import tokenize

FIELD_LINE = re.compile(r"^(?P<indent>\s+)(?P<name>[A-Za-z_]\w*)\s*:")


def field_comments(cls: type) -> dict[str, str]:
    """{field name: its comment} for the fields declared in `cls`'s own body:
    the comment lines right above a field and the comment at its line's end."""
    lines, _ = inspect.getsourcelines(cls)
    source = textwrap.dedent("".join(lines))
    comments = {tok.start[0]: tok.string.lstrip("#").strip()
                for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
    body = source.splitlines()
    indent = next(m["indent"] for line in body[1:] if (m := re.match(r"^(\s+)\S", line)) and (m := {"indent": m[1]}))
    out, above = {}, []
    for number, line in enumerate(body, start=1):
        stripped = line.strip()
        if stripped.startswith("#") and line.startswith(indent) and not line.startswith(indent + " "):
            above.append(comments[number])
            continue
        match = FIELD_LINE.match(line)
        if match and match["indent"] == indent:
            words = above + ([comments[number]] if number in comments and not stripped.startswith("#") else [])
            if match["name"] in cls.__dict__.get("__annotations__", {}):
                out[match["name"]] = " ".join(words)
        above = []
    return out


def meaning(cls: type, name: str) -> str:
    """The first comment found for `name`, from `cls` up its bases."""
    for klass in cls.__mro__:
        if dataclasses.is_dataclass(klass) and name in klass.__dict__.get("__annotations__", {}):
            text = field_comments(klass).get(name)
            if text:
                return text
    return ""


def render_default(value) -> str:
    from aekit.schema import to_dict

    if dataclasses.is_dataclass(value) and hasattr(type(value), "TYPE"):
        return f"`{type(value).TYPE}`"
    return f"`{json.dumps(compact(value, to_dict))}`"


def compact(value, to_dict):
    """Plain data; nested dataclasses (a conv stack's layers) without the keys left at their defaults."""
    if isinstance(value, list):
        return [compact(v, to_dict) for v in value]
    if dataclasses.is_dataclass(value):
        blank = type(value)()
        return {f.name: to_dict(getattr(value, f.name)) for f in dataclasses.fields(value)
                if getattr(value, f.name) != getattr(blank, f.name)}
    return to_dict(value)


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def default_of(field: dataclasses.Field):
    if field.default is not dataclasses.MISSING:
        return render_default(field.default)
    if field.default_factory is not dataclasses.MISSING:
        return render_default(field.default_factory())
    return "required"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(cls: type, prefix: str) -> list[str]:
    rows = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for field in dataclasses.fields(cls):
        kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
        if "registry" in field.metadata:
            kind = f"{article(field.metadata['registry'].what)} {field.metadata['registry'].what} (below)"
        elif "registry_list" in field.metadata:
            kind = f"a list of {field.metadata['registry_list'].what}s (below)"
        rows.append(f"| `{prefix}{field.name}` | {cell(kind)} | {cell(default_of(field))} | "
                    f"{cell(meaning(cls, field.name))} |")
    return rows


def docstring(cls: type) -> str:
    doc = cls.__dict__.get("__doc__")
    if not doc or doc.startswith(cls.__name__ + "("):   # dataclass's generated signature
        return ""
    return inspect.cleandoc(doc)


def config_reference() -> str:
    from aekit.models.config import ModelConfig
    from aekit.nn import BOTTLENECKS, CORRUPTIONS, DECODERS, ENCODERS, LIKELIHOODS, REGULARISERS
    from aekit.nn.conv import ConvLayer
    from aekit.nn.registry import PRIORS
    from aekit.training.config import DataConfig, RunConfig, TrainConfig

    out = ["# Config reference", "",
           "Generated from the config classes (`aekit/training/config.py`, `aekit/models/config.py`, the parts "
           "in `aekit/nn/`) by `python scripts/make_docs.py`; do not edit by hand.", "",
           "A run's config has three sections, `data`, `model` and `train`; `aekit train --preset P` starts "
           "from a preset (`aekit presets P` prints it), a YAML file given to `--config` overrides it, then "
           "the explicit options (`--epochs` ...), then each `--set KEY=VALUE` (the value read as YAML). "
           "The resolved config is saved as `config.yaml` in the run folder.", ""]
    out += ["## Top level", "", *table(RunConfig, "")[:2],
            *[row for row in table(RunConfig, "")[2:] if row.split("`")[1] in ("preset", "description")], ""]
    for title, cls, prefix in (("data", DataConfig, "data."), ("train", TrainConfig, "train."),
                               ("model", ModelConfig, "model.")):
        out += [f"## `{title}`", "", *table(cls, prefix), ""]
    out += ["## Parts", "",
            "A part is a mapping with a `type` (or just the type's name: `likelihood: bernoulli`) and that "
            "type's options. Changing a part's `type` replaces the whole mapping.", ""]
    for registry, where in ((CORRUPTIONS, "model.corruption"), (ENCODERS, "model.encoder"),
                            (BOTTLENECKS, "model.bottleneck"), (DECODERS, "model.decoder"),
                            (LIKELIHOODS, "model.likelihood"), (REGULARISERS, "model.regularisers[]"),
                            (PRIORS, "model.regularisers[].prior (adversarial)")):
        for tag, cls in sorted(registry.kinds.items()):
            out += [f"### {registry.what} `{tag}`", "", f"`{where}: {{type: {tag}, ...}}`", ""]
            if doc := docstring(cls):
                out += [doc, ""]
            out += table(cls, "") if dataclasses.fields(cls) else ["No options."]
            out += [""]
    out += ["### conv layer", "", "One item of a conv encoder's or decoder's `layers` list.", "",
            *table(ConvLayer, ""), ""]
    return "\n".join(out)
