"""Counts in sentences: "1 epoch", "3 epochs"."""

from __future__ import annotations


def counted(n: int, noun: str) -> str:
    """`n` and `noun`, plural (a trailing s) unless n is 1."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
