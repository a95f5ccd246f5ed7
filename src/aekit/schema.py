"""Typed configs: dataclasses built from plain dicts, validated once.

A config is a tree of dataclasses. `from_dict` builds one from YAML-ish data and
rejects anything unknown or mistyped with a one-line `ConfigError` naming the
full key (``model.encoder.widths``) and what was expected. `to_dict` turns it
back into plain data, so a saved config reloads the same object.

Parts with several kinds (an encoder may be ``mlp`` or ``conv``) are *tagged*:
their dict carries ``type``, and a `TaggedRegistry` maps each tag to the
dataclass that holds that kind's options. A new kind of part registers itself;
nothing here changes.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from aekit.errors import ConfigError, did_you_mean


class TaggedRegistry:
    """Maps a ``type`` tag to the config dataclass of one kind of part. With
    `base`, every registered config must derive from it (the kind's interface)."""

    def __init__(self, what: str, base: type | None = None):
        self.what = what
        self.base = base
        self.kinds: dict[str, type] = {}

    def register(self, tag: str):
        def decorate(cls):
            if self.base is not None and not issubclass(cls, self.base):
                # A bug in the module defining the part, caught when it is imported.
                raise TypeError(f"{self.what} {tag!r}: {cls.__name__} must derive from {self.base.__name__}")
            self.kinds[tag] = cls
            cls.TYPE = tag
            return cls

        return decorate

    def build(self, data: Any, path: str):
        if isinstance(data, str):  # shorthand: `likelihood: bernoulli`
            data = {"type": data}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping with a 'type' key, got {data!r}")
        tag = data.get("type")
        if tag not in self.kinds:
            raise ConfigError(
                f"{path}.type: unknown {self.what} {tag!r}; choose one of {', '.join(sorted(self.kinds))}"
            )
        rest = {k: v for k, v in data.items() if k != "type"}
        return from_dict(self.kinds[tag], rest, path)


def tagged(registry: TaggedRegistry, default: dict | str | None = None, **meta):
    """A dataclass field holding one kind of part from `registry`."""
    meta = {"registry": registry, **meta}
    if default is None:
        return dataclasses.field(default=None, metadata=meta)
    return dataclasses.field(default_factory=lambda: registry.build(default, "default"), metadata=meta)


def from_dict(cls, data: Any, path: str = ""):
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        key = _join(path, unknown[0])
        raise ConfigError(f"{key}: unknown key{did_you_mean(unknown[0], fields)}; valid keys here are "
                          f"{', '.join(sorted(fields))}")
    hints = typing.get_type_hints(cls)
    values = {}
    for name, value in data.items():
        key = _join(path, name)
        registry = fields[name].metadata.get("registry")
        if registry is not None:
            if value is None and fields[name].default is not None:   # a part that the model cannot do without
                raise ConfigError(f"{key}: expected a {registry.what} (a mapping with a type), got null")
            values[name] = None if value is None else registry.build(value, key)
        elif isinstance(registry_list := fields[name].metadata.get("registry_list"), TaggedRegistry):
            if not isinstance(value, list):
                raise ConfigError(f"{key}: expected a list of {registry_list.what}s, got {value!r}")
            values[name] = [registry_list.build(v, f"{key}[{i}]") for i, v in enumerate(value)]
        else:
            values[name] = _coerce(hints[name], value, key)
    obj = cls(**values)
    check = getattr(obj, "validate", None)
    if check is not None:
        try:
            check()
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}" if path else str(err)) from None
    return obj


def to_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        if hasattr(type(obj), "TYPE"):
            out["type"] = type(obj).TYPE
        for f in dataclasses.fields(obj):
            out[f.name] = to_dict(getattr(obj, f.name))
        return out
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _describe(tp) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (list, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        plural = {int: "integers", float: "numbers", bool: "booleans", str: "strings"}
        return f"a list of {plural.get(args[0], _describe(args[0]))}" if args else "a list"
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp) if a is not type(None))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, str(tp))


def _coerce(tp, value, key):
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, key)
            except ConfigError:
                pass
        raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
        (arg,) = [a for a in get_args(tp) if a is not Ellipsis][:1] or (Any,)
        items = [_coerce(arg, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, key)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        # YAML 1.1 reads `2e-3` (no dot) as a string; accept any numeric string.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(value, tp):
        return value
    raise ConfigError(f"{key}: expected {_describe(tp)}, got {value!r}")
