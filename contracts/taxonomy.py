"""Sectors (重点领域) and behaviours (重点行为) as stable codes with Chinese and English labels.

Loaded from ``data/taxonomy.json`` and validated on load, so a bad entry stops a service at start-up with a
message naming it. Events carry only the codes; labels are looked up here.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
Group = Literal["investment_finance", "traditional", "emerging", "disguise", "other", "behaviour"]


class TaxonomyError(ValueError):
    """The taxonomy data breaks a rule; the message names the bad entry."""


class Term(BaseModel):
    """One sector or behaviour: its stable code, Chinese and English labels, and its group."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    zh: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    en: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    group: Group


class Taxonomy(BaseModel):
    """The versioned list of sector and behaviour codes a deployment accepts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, StringConstraints(pattern=r"^taxonomy/[0-9]{4}\.[0-9]+$")]
    about: str = ""
    sectors: list[Term] = Field(min_length=1)
    behaviours: list[Term] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Taxonomy:
        seen: set[str] = set()
        for kind, terms in (("sectors", self.sectors), ("behaviours", self.behaviours)):
            for index, term in enumerate(terms):
                if term.code in seen:
                    raise ValueError(f"{kind}.{index} ({term.code}): code appears twice")
                seen.add(term.code)
                if (kind == "behaviours") != (term.group == "behaviour"):
                    raise ValueError(f"{kind}.{index} ({term.code}): group {term.group} is wrong here")
        return self

    def sector(self, code: str) -> Term | None:
        return next((t for t in self.sectors if t.code == code), None)

    def behaviour(self, code: str) -> Term | None:
        return next((t for t in self.behaviours if t.code == code), None)

    def is_sector(self, code: str) -> bool:
        return self.sector(code) is not None

    def is_behaviour(self, code: str) -> bool:
        return self.behaviour(code) is not None

    def label(self, code: str, language: Literal["zh", "en"] = "zh") -> str:
        """The label of a sector or behaviour code; the code itself when the taxonomy does not know it."""
        term = self.sector(code) or self.behaviour(code)
        return getattr(term, language) if term is not None else code

    @classmethod
    def from_json(cls, text: str, origin: str = "taxonomy") -> Taxonomy:
        """Parse and validate taxonomy JSON; raises ``TaxonomyError`` naming the bad entry."""
        try:
            return cls.model_validate(json.loads(text))
        except json.JSONDecodeError as exc:
            raise TaxonomyError(f"{origin}: not JSON ({exc})") from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "top level"
            raise TaxonomyError(f"{origin}: {where}: {first['msg']}") from exc

    @classmethod
    def load(cls, path: Path | None = None) -> Taxonomy:
        if path is not None:
            return cls.from_json(path.read_text(encoding="utf-8"), str(path))
        return default_taxonomy()


@cache
def default_taxonomy() -> Taxonomy:
    """The bundled taxonomy (``contracts/data/taxonomy.json``)."""
    text = resources.files("contracts").joinpath("data/taxonomy.json").read_text(encoding="utf-8")
    return Taxonomy.from_json(text, "contracts/data/taxonomy.json")


def _known_sector(code: str) -> str:
    if not default_taxonomy().is_sector(code):
        raise ValueError(f"unknown sector code {code!r}")
    return code


def _known_behaviours(codes: list[str]) -> list[str]:
    unknown = [code for code in codes if not default_taxonomy().is_behaviour(code)]
    if unknown:
        raise ValueError(f"unknown behaviour code {', '.join(unknown)}")
    return list(dict.fromkeys(codes))


SectorCode = Annotated[Code, AfterValidator(_known_sector)]
"""A sector code of the bundled taxonomy (checked when a model is validated)."""

BehaviourCodes = Annotated[list[Code], Field(max_length=20), AfterValidator(_known_behaviours)]
"""Behaviour codes of the bundled taxonomy, each once, in the order given."""
