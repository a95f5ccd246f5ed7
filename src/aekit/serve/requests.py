"""The JSON bodies the explorer's API accepts, with their bounds (pydantic, strict:
no strings for numbers, no NaN or infinity, no unknown keys)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from aekit.serve.limits import MAX_CODE_VALUES, MAX_NEIGHBOURS, MAX_STEPS

Value = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Code = Annotated[list[Value], Field(min_length=1, max_length=MAX_CODE_VALUES)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecodeRequest(Strict):
    code: Code


class NeighboursRequest(Strict):
    code: Code
    k: Annotated[int, Field(strict=True, ge=1, le=MAX_NEIGHBOURS)] = 8


class InterpolateRequest(Strict):
    a: Code
    b: Code
    steps: Annotated[int, Field(strict=True, ge=2, le=MAX_STEPS)] = 10
    method: Literal["linear", "slerp"] = "linear"
