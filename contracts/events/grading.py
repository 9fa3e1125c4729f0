"""Grading and classification: ``assessed`` (分级分类, with all an auditor needs to recompute the grade)
and ``reclassified`` (人工定类)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, StringConstraints

from contracts.codes import JurisdictionCode
from contracts.envelope import Envelope
from contracts.events.common import LongText, ShortText, Yuan, _Strict
from contracts.taxonomy import BehaviourCodes, SectorCode
from contracts.vocabulary import Grade


class Factor(_Strict):
    """One input to a grade, with the points it contributed, so an auditor can recompute the score."""

    name: Annotated[str, StringConstraints(max_length=64)]
    value: int | str | bool | None
    points: int


class Suggestion(_Strict):
    """A sector or behaviour code suggested by a clue's free text, with the phrases that matched."""

    kind: Literal["sector", "behaviour"]
    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
    score: int = Field(ge=0)
    phrases: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list, max_length=50
    )


class RuleOverride(_Strict):
    """One entry of a district's rule file that replaced the default rule set's (path and new value)."""

    path: Annotated[str, StringConstraints(max_length=100)]
    value: JsonValue


class AssessedPayload(_Strict):
    """The graded risk of a case (分级分类) under a named, versioned rule set.

    Version 2 adds what an auditor needs besides the factors: the sector graded and whether the reporter
    gave it or the text suggested it, the suggestions with their matched phrases, the district whose rule
    file applied with every override it made, and the routing table the department came from.

    Version 3 adds the case's figures graded, ``participants`` (涉众规模) and ``estimated_amount_yuan``
    (风险敞口): its clue's, plus those of the clues linked to it, less those split off again. Triage grades
    a case again whenever a clue is linked or split off, so the latest grade always carries the case's
    figures, and every other service reads them from here rather than adding clues up itself. Earlier
    versions recorded the same two numbers as the grade's first factors (``graded_figures``).
    """

    grade: Grade
    score: int
    factors: list[Factor]
    rule_set: Annotated[str, StringConstraints(max_length=64)]
    key_case: bool
    key_case_reasons: list[Annotated[str, StringConstraints(max_length=64)]] = Field(default_factory=list)
    responsible_department: ShortText | None = None
    sector: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")] | None = None
    sector_source: Literal["reporter", "suggested", "officer"] | None = None
    suggestions: list[Suggestion] = Field(default_factory=list, max_length=50)
    classification_rules: Annotated[str, StringConstraints(max_length=64)] | None = None
    district: JurisdictionCode | None = None
    district_rules: Annotated[str, StringConstraints(max_length=64)] | None = None
    overrides: list[RuleOverride] = Field(default_factory=list, max_length=200)
    routing_table: Annotated[str, StringConstraints(max_length=64)] | None = None
    participants: int | None = Field(ge=0, le=10**9, description="The case's participants graded (v3).")
    estimated_amount_yuan: Yuan | None = Field(description="The case's money at risk graded, yuan (v3).")


def graded_figures(payload: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """The case's figures an ``assessed`` payload (as written, any version) graded: (participants, money at
    risk in yuan). Version 3 names them; versions 1 and 2 recorded them as the factors ``participants`` and
    ``estimated_amount_yuan``, which is where they are read from then."""
    if "participants" in payload or "estimated_amount_yuan" in payload:
        return _count(payload.get("participants")), _count(payload.get("estimated_amount_yuan"))
    factors = {f.get("name"): f.get("value") for f in payload.get("factors") or () if isinstance(f, Mapping)}
    return _count(factors.get("participants")), _count(factors.get("estimated_amount_yuan"))


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class ReclassifiedPayload(_Strict):
    """An officer's classification of the case (人工定类): it replaces the reporter's or the suggested
    sector and behaviours; the case is graded again with it. Codes must be in ``contracts.taxonomy``."""

    sector: SectorCode
    behaviours: BehaviourCodes = Field(default_factory=list)
    reason: LongText


class CaseAssessed(Envelope):
    type: Literal["assessed"] = "assessed"
    schema_version: Literal[3] = 3
    payload: AssessedPayload


class CaseReclassified(Envelope):
    """An officer classified the case (sector and behaviours), overriding the clue's."""

    type: Literal["reclassified"] = "reclassified"
    schema_version: Literal[1] = 1
    payload: ReclassifiedPayload
