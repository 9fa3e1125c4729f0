"""Classification suggestions (分类建议) from a clue's Chinese free text, by phrase rules kept as data.

A rule names phrases and the sector and/or behaviours they suggest. ``classify`` is pure: it returns every
suggested code with its score (the summed weights of the rules that matched) and the phrases that matched,
best first, so an officer sees why a code was suggested and can override it. Matching is on NFKC-folded,
lower-cased text (full-width ＮＦＴ matches nft). District rule files add phrases of their own.
"""

from __future__ import annotations

import json
import unicodedata
from collections import defaultdict
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from contracts.events import Suggestion
from contracts.taxonomy import Taxonomy, default_taxonomy

Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ClassificationError(ValueError):
    """Classification rule data breaks a rule; the message names the bad entry."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhraseRule(_Data):
    """Phrases that, when any occurs in the text, suggest a sector and/or behaviours with a weight."""

    phrases: list[Phrase] = Field(min_length=1)
    sector: str | None = None
    behaviours: list[str] = Field(default_factory=list)
    weight: int = Field(1, ge=1, le=100)

    @model_validator(mode="after")
    def _suggests_something(self) -> PhraseRule:
        if self.sector is None and not self.behaviours:
            raise ValueError(f"rule {self.phrases[0]!r} suggests neither a sector nor a behaviour")
        return self


class ClassificationRules(_Data):
    """A versioned list of phrase rules."""

    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]+/[0-9]{4}\.[0-9]+$")]
    about: str = ""
    rules: list[PhraseRule]

    def checked(self, taxonomy: Taxonomy, origin: str) -> ClassificationRules:
        """Itself, once every code it suggests is a code of the taxonomy."""
        check_codes(self.rules, taxonomy, origin)
        return self


def check_codes(rules: list[PhraseRule], taxonomy: Taxonomy, origin: str) -> None:
    for index, rule in enumerate(rules):
        if rule.sector is not None and not taxonomy.is_sector(rule.sector):
            raise ClassificationError(
                f"{origin}: rules.{index} ({rule.phrases[0]}): unknown sector {rule.sector}"
            )
        for code in rule.behaviours:
            if not taxonomy.is_behaviour(code):
                raise ClassificationError(
                    f"{origin}: rules.{index} ({rule.phrases[0]}): unknown behaviour {code}"
                )


def load_classification(text: str, origin: str = "classification rules") -> ClassificationRules:
    """Parse and validate classification rules; raises ``ClassificationError`` naming the bad entry."""
    try:
        rules = ClassificationRules.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ClassificationError(f"{origin}: not JSON ({exc})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ClassificationError(f"{origin}: {where}: {first['msg']}") from exc
    return rules.checked(default_taxonomy(), origin)


def fold_text(text: str) -> str:
    """The form both text and phrases are compared in: NFKC, lower case, no whitespace."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


# The phrases of the rules, folded once each: the rules stay while clues come and go.
_folded_phrase = lru_cache(maxsize=65536)(fold_text)


def classify(text: str, rules: list[PhraseRule]) -> list[Suggestion]:
    """Every sector and behaviour the text suggests, best first (score, then sectors, then code)."""
    folded = fold_text(text)
    scores: dict[tuple[str, str], int] = defaultdict(int)
    phrases: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in rules:
        matched = {p for p in rule.phrases if (phrase := _folded_phrase(p)) and phrase in folded}
        if not matched:
            continue
        targets: list[tuple[Literal["sector", "behaviour"], str]] = [
            ("behaviour", b) for b in rule.behaviours
        ]
        if rule.sector is not None:
            targets.append(("sector", rule.sector))
        for target in targets:
            scores[target] += rule.weight
            phrases[target] |= matched
    ordered = sorted(scores, key=lambda t: (-scores[t], t[0] != "sector", t[1]))
    return [
        Suggestion(kind=kind, code=code, score=scores[(kind, code)], phrases=sorted(phrases[(kind, code)]))
        for kind, code in ordered
    ]


def top_sector(suggestions: list[Suggestion]) -> Suggestion | None:
    """The best sector suggestion, or None when the text suggests no sector."""
    return next((s for s in suggestions if s.kind == "sector"), None)
