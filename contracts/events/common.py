"""What every case event payload is built from: bounded texts, whole-yuan amounts, rule names, region ids
and the strict base model (unknown fields refused, instances frozen)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Yuan = Annotated[int, Field(ge=0, le=10**15, description="Amount in yuan (元), whole yuan.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


RuleName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,63}$")]
RegionId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
