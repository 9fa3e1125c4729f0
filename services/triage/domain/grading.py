"""Grading a clue (分级分类) under a named, versioned rule set, and recognising key cases (重点案件).

The rule set is data (``services/triage/triage-rules-2026.1.json``), validated when it is loaded. Its
version string goes into every ``assessed`` event together with every factor and the points it gave, so an
auditor can recompute any grade years later. Rule set ``triage-rules/2026.1``:

=====================================  ======================================================
Factor                                 Points
=====================================  ======================================================
participants (涉众规模)                ≥1000: 40 · ≥300: 30 · ≥100: 20 · ≥30: 10 · ≥1: 5 · none/0: 0
amount at risk (风险敞口, yuan)        ≥100,000,000: 50 · ≥10,000,000: 35 · ≥1,000,000: 20 ·
                                       ≥100,000: 10 · less or unknown: 0
flag public_outcry (舆论热度)          15
flag stability_risk (涉稳隐患)         20
flag vulnerable_targets                10
flag petition_conflict                 15
flag promised_high_returns             5
flag cross_region                      10
regions involved                       5 each, at most 20
=====================================  ======================================================

Grade: score ≥70 major (重大) · ≥40 serious (较大) · ≥20 general (一般) · otherwise low.

Key case when any of: amount ≥ 100,000,000 yuan (``amount_at_least_100m``); cross-region, i.e. regions
involved or the cross_region flag (``cross_region``); the stability_risk flag (``stability_risk``); public
outcry together with a petition conflict (``public_outcry_with_petition_conflict``). The grade does not
depend on key-case status: a key case is handled by escalation, not by points.

The responsible department (责任部门) comes from the sector, by the demo district's table (seed 001).
"""

from __future__ import annotations

import itertools
import json
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.events import AssessedPayload, Factor
from contracts.vocabulary import Grade, RiskFlag
from services.triage.domain.state import ClueFacts

KEY_AMOUNT = "amount_at_least_100m"
KEY_CROSS_REGION = "cross_region"
KEY_STABILITY = "stability_risk"
KEY_OUTCRY_AND_PETITION = "public_outcry_with_petition_conflict"


class RuleSetError(ValueError):
    """The rule-set data breaks a rule; the message names the bad entry."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Data):
    """Points given to a value of at least ``at_least``."""

    at_least: int = Field(ge=0)
    points: int = Field(ge=0)


class GradeThreshold(_Data):
    grade: Grade
    at_least: int = Field(ge=0)


class RegionPoints(_Data):
    each: int = Field(ge=0)
    max: int = Field(ge=0)


def _descending(bands: list[Band], name: str) -> None:
    for higher, lower in itertools.pairwise(bands):
        if lower.at_least >= higher.at_least:
            raise ValueError(f"{name}: band at_least={lower.at_least} must be below the band before it")


class RuleSet(_Data):
    """A grading rule set: bands for participants and amount, points per flag and region, thresholds."""

    version: Annotated[str, Field(pattern=r"^triage-rules/[0-9]{4}\.[0-9]+$")]
    about: str = ""
    participants_points: list[Band] = Field(min_length=1)
    amount_points: list[Band] = Field(min_length=1)
    flag_points: dict[RiskFlag, int]
    region_points: RegionPoints
    grade_thresholds: list[GradeThreshold]
    key_case_amount_yuan: int = Field(gt=0)
    departments: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> RuleSet:
        _descending(self.participants_points, "participants_points")
        _descending(self.amount_points, "amount_points")
        missing = [flag.value for flag in RiskFlag if flag not in self.flag_points]
        if missing:
            raise ValueError(f"flag_points: no points for {', '.join(missing)}")
        grades = [t.grade for t in self.grade_thresholds]
        if sorted(grades) != sorted(Grade) or len(grades) != len(Grade):
            raise ValueError("grade_thresholds: need exactly one threshold per grade")
        thresholds = [t.at_least for t in self.grade_thresholds]
        if thresholds != sorted(thresholds, reverse=True) or thresholds[-1] != 0:
            raise ValueError("grade_thresholds: must descend and end at 0, so every score has a grade")
        return self


def load_rule_set(text: str, origin: str = "rule set") -> RuleSet:
    """Parse and validate rule-set JSON; raises ``RuleSetError`` naming the bad entry."""
    try:
        return RuleSet.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise RuleSetError(f"{origin}: not JSON ({exc})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise RuleSetError(f"{origin}: {where}: {first['msg']}") from exc


def _band_points(bands: list[Band], value: int | None) -> int:
    if value is None:
        return 0
    return next((band.points for band in bands if value >= band.at_least), 0)


def key_case_reasons(clue: ClueFacts, rules: RuleSet) -> list[str]:
    """The key-case conditions (重点案件) the clue meets, in a fixed order; empty if none."""
    flags = set(clue.flags)
    reasons = []
    if clue.estimated_amount_yuan is not None and clue.estimated_amount_yuan >= rules.key_case_amount_yuan:
        reasons.append(KEY_AMOUNT)
    if clue.regions_involved or RiskFlag.CROSS_REGION in flags:
        reasons.append(KEY_CROSS_REGION)
    if RiskFlag.STABILITY_RISK in flags:
        reasons.append(KEY_STABILITY)
    if {RiskFlag.PUBLIC_OUTCRY, RiskFlag.PETITION_CONFLICT} <= flags:
        reasons.append(KEY_OUTCRY_AND_PETITION)
    return reasons


def grade_for(score: int, rules: RuleSet) -> Grade:
    return next(t.grade for t in rules.grade_thresholds if score >= t.at_least)


def assess(clue: ClueFacts, rules: RuleSet) -> AssessedPayload:
    """Grade a clue: every factor with its value and points, the score, the grade and key-case reasons."""
    factors = [
        Factor(
            name="participants",
            value=clue.participants,
            points=_band_points(rules.participants_points, clue.participants),
        ),
        Factor(
            name="estimated_amount_yuan",
            value=clue.estimated_amount_yuan,
            points=_band_points(rules.amount_points, clue.estimated_amount_yuan),
        ),
    ]
    flags = set(clue.flags)
    for flag in RiskFlag:
        present = flag in flags
        factors.append(
            Factor(name=f"flag:{flag.value}", value=present, points=rules.flag_points[flag] if present else 0)
        )
    regions = len(set(clue.regions_involved))
    factors.append(
        Factor(
            name="regions_involved",
            value=regions,
            points=min(regions * rules.region_points.each, rules.region_points.max),
        )
    )
    score = sum(f.points for f in factors)
    reasons = key_case_reasons(clue, rules)
    return AssessedPayload(
        grade=grade_for(score, rules),
        score=score,
        factors=factors,
        rule_set=rules.version,
        key_case=bool(reasons),
        key_case_reasons=reasons,
        responsible_department=rules.departments.get(clue.sector) if clue.sector else None,
    )
