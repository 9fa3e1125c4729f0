"""Grading a clue (分级分类) under a named, versioned rule set, and recognising key cases (重点案件).

The rule set is data (``services/triage/triage-rules-<version>.json``), validated when it is loaded. Its
version goes into every ``assessed`` event together with every factor and the points it gave, the sector
graded (the reporter's, else the one the clue's text suggests), the district whose rule file applied and
every override that file made, so an auditor can recompute any grade years later. Rule set
``triage-rules/2026.2`` (the default; ``2026.1`` stays loadable to recompute older grades):

=====================================  ======================================================
Factor                                 Points
=====================================  ======================================================
participants (涉众规模)                ≥1000: 40 · ≥300: 30 · ≥100: 20 · ≥30: 10 · ≥1: 5 · none/0: 0
amount at risk (风险敞口, yuan)        ≥100,000,000: 50 · ≥10,000,000: 35 · ≥1,000,000: 20 ·
                                       ≥100,000: 10 · less or unknown: 0
flag public_outcry (舆论热度)          15
flag stability_risk (涉稳隐患)         20
flag vulnerable_targets                10 (also when the behaviour targeting_vulnerable is given)
flag petition_conflict                 15
flag promised_high_returns             5 (also when the behaviour promised_high_returns is given)
flag cross_region                      10
regions involved                       5 each, at most 20 (2026.2: only regions outside the district)
linked clues (舆论热度: reported again) 5 each, at most 15 (2026.2)
sector weight                          per sector (``sector_points``; e.g. elderly care 10; 2026.2)
=====================================  ======================================================

Grade: score ≥70 major (重大) · ≥40 serious (较大) · ≥20 general (一般) · otherwise low (低). A key case is
at least ``key_case_min_grade`` (2026.2: serious) — the factor ``key_case_floor`` records it.

Key case when any of: amount ≥ 100,000,000 yuan (``amount_at_least_100m``); cross-region, i.e. a region
involved outside the case's own district or the cross_region flag (``cross_region``); the stability_risk
flag (``stability_risk``); public outcry together with a petition conflict
(``public_outcry_with_petition_conflict``).

District rule files (``services/triage/districts/<district>.json``) replace entries of the rule set for
cases in that district — thresholds, bands, single flag or sector points, departments, extra phrases, base
phrases it does not use (``phrases_removed``; with an extra phrase of its own, that re-weights one) — and
are validated merged, so a bad override stops triage at start-up naming the file and entry.
"""

from __future__ import annotations

import itertools
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.events import AssessedPayload, Factor, RuleOverride
from contracts.jurisdictions import JurisdictionRegistry
from contracts.taxonomy import default_taxonomy
from contracts.vocabulary import Grade, RiskFlag
from services.triage.domain.classification import (
    ClassificationError,
    ClassificationRules,
    Phrase,
    PhraseRule,
    check_codes,
    classify,
    fold_text,
    top_sector,
)
from services.triage.domain.routing import department_for, regions_to_notify
from services.triage.domain.state import ClueFacts

KEY_AMOUNT = "amount_at_least_100m"
KEY_CROSS_REGION = "cross_region"
KEY_STABILITY = "stability_risk"
KEY_OUTCRY_AND_PETITION = "public_outcry_with_petition_conflict"
GRADE_ORDER: tuple[Grade, ...] = (Grade.LOW, Grade.GENERAL, Grade.SERIOUS, Grade.MAJOR)
# Entries of the rule set a district file may replace; the dict-valued ones entry by entry.
OVERRIDABLE = (
    "participants_points",
    "amount_points",
    "flag_points",
    "region_points",
    "linked_clue_points",
    "grade_thresholds",
    "key_case_amount_yuan",
    "key_case_min_grade",
    "sector_points",
)
MERGED_BY_ENTRY = ("flag_points", "sector_points")


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


class DistrictRules(_Data):
    """A district's rule file: entries replacing the rule set's, its department table, extra phrases, and
    phrases of the base classification it does not use (a phrase removed and given again in ``phrases``
    with another weight or code is re-weighted for the district)."""

    district: str
    version: Annotated[str, Field(pattern=r"^[0-9A-Z]{6,15}/[0-9]{4}\.[0-9]+$")]
    about: str = ""
    grading: dict[str, Any] = Field(default_factory=dict)
    departments: dict[str, str] = Field(default_factory=dict)
    phrases: list[PhraseRule] = Field(default_factory=list)
    phrases_removed: list[Phrase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_entries(self) -> DistrictRules:
        unknown = sorted(set(self.grading) - set(OVERRIDABLE))
        if unknown:
            raise ValueError(
                f"grading: {', '.join(unknown)} cannot be overridden (only {', '.join(OVERRIDABLE)})"
            )
        return self

    def override_list(self) -> list[RuleOverride]:
        """Every replaced entry with its value, as the ``assessed`` event records it."""
        found = []
        for name, value in sorted(self.grading.items()):
            if name in MERGED_BY_ENTRY and isinstance(value, dict):
                found += [RuleOverride(path=f"{name}.{k}", value=v) for k, v in sorted(value.items())]
            else:
                found.append(RuleOverride(path=name, value=value))
        found += [RuleOverride(path=f"departments.{k}", value=v) for k, v in sorted(self.departments.items())]
        if self.phrases:
            found.append(
                RuleOverride(path="phrases", value=[p.model_dump(mode="json") for p in self.phrases])
            )
        if self.phrases_removed:
            found.append(RuleOverride(path="phrases_removed", value=list(self.phrases_removed)))
        return found

    def phrase_rules(self, base: list[PhraseRule]) -> list[PhraseRule]:
        """The phrase rules in force in the district: the base rules without the phrases it removed (a rule
        left with none is dropped), then its own."""
        removed = {fold_text(p) for p in self.phrases_removed}
        kept = []
        for rule in base:
            phrases = [p for p in rule.phrases if fold_text(p) not in removed]
            if phrases:
                kept.append(
                    rule
                    if len(phrases) == len(rule.phrases)
                    else rule.model_copy(update={"phrases": phrases})
                )
        return [*kept, *self.phrases]


class RuleSet(_Data):
    """A grading rule set: bands, flag, region and sector points, thresholds, key-case rules, departments.

    ``classification`` and ``districts`` are attached by the loader from their own files; they are not part
    of the rule-set file.
    """

    version: Annotated[str, Field(pattern=r"^triage-rules/[0-9]{4}\.[0-9]+$")]
    about: str = ""
    participants_points: list[Band] = Field(min_length=1)
    amount_points: list[Band] = Field(min_length=1)
    flag_points: dict[RiskFlag, int]
    region_points: RegionPoints
    count_regions: Literal["all", "outside_district"] = "all"
    linked_clue_points: RegionPoints | None = None
    flags_from_behaviours: dict[str, RiskFlag] = Field(default_factory=dict)
    sector_points: dict[str, int] = Field(default_factory=dict)
    grade_thresholds: list[GradeThreshold]
    key_case_amount_yuan: int = Field(gt=0)
    key_case_min_grade: Grade | None = None
    departments: dict[str, str] = Field(default_factory=dict)
    default_department: str | None = None
    classification: ClassificationRules | None = None
    districts: dict[str, DistrictRules] = Field(default_factory=dict)

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
        if [t.grade for t in self.grade_thresholds] != list(reversed(GRADE_ORDER)):
            raise ValueError("grade_thresholds: must name major, serious, general, low in that order")
        taxonomy = default_taxonomy()
        for table in ("sector_points", "departments"):
            unknown = [code for code in getattr(self, table) if not taxonomy.is_sector(code)]
            if unknown:
                raise ValueError(f"{table}: unknown sector {', '.join(unknown)}")
        return self

    def for_district(self, district: str | None) -> tuple[RuleSet, DistrictRules | None]:
        """The rule set in force in ``district`` (its file merged over this one) and that file, if any."""
        in_force, rules, _ = self.in_district(district)
        return in_force, rules

    def in_district(self, district: str | None) -> tuple[RuleSet, DistrictRules | None, list[PhraseRule]]:
        """``for_district``, and the phrase rules in force there (``DistrictRules.phrase_rules``). Worked
        out once per district and rule set: a merge validates a whole rule set again, and folding every
        phrase of the rules took as long as grading a clue."""
        known = self._districts_known()
        if district not in known:
            rules = self.districts.get(district) if district is not None else None
            base = self.classification.rules if self.classification else []
            # A district file that does not merge raises here, every time: it is never kept.
            known[district] = (
                (self, None, base)
                if rules is None
                else (merged(self, rules), rules, rules.phrase_rules(base))
            )
        return known[district]

    def _districts_known(self) -> dict[str | None, tuple[RuleSet, DistrictRules | None, list[PhraseRule]]]:
        # Kept in the instance's __dict__ beside the fields, not as a field or a private attribute: equality
        # and dumps compare and write fields only. A copy (model_copy, whose update may change the rules)
        # shares its __dict__'s values, so the rules it was worked out for are named by their object id.
        kept = self.__dict__.get("_districts_known_for")
        if kept is None or kept[0] != id(self):
            kept = (id(self), {})
            object.__setattr__(self, "_districts_known_for", kept)
        known: dict[str | None, tuple[RuleSet, DistrictRules | None, list[PhraseRule]]] = kept[1]
        return known


def merged(base: RuleSet, district: DistrictRules) -> RuleSet:
    """``base`` with the district's entries replacing its own, validated; raises ``RuleSetError``."""
    data = base.model_dump(mode="json", exclude={"classification", "districts"})
    for name, value in district.grading.items():
        data[name] = {**data[name], **value} if name in MERGED_BY_ENTRY and isinstance(value, dict) else value
    data["departments"] = {**data["departments"], **district.departments}
    try:
        result = RuleSet.model_validate(data)
    except ValidationError as exc:
        raise RuleSetError(f"district {district.district} ({district.version}): {_first_error(exc)}") from exc
    return result.model_copy(update={"classification": base.classification})


def _first_error(exc: ValidationError) -> str:
    """The first problem, where it is and what it is (a rule of the whole model names its entry itself)."""
    first = exc.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {message}" if where else message


def load_rule_set(text: str, origin: str = "rule set") -> RuleSet:
    """Parse and validate rule-set JSON; raises ``RuleSetError`` naming the bad entry."""
    try:
        return RuleSet.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise RuleSetError(f"{origin}: not JSON ({exc})") from exc
    except ValidationError as exc:
        raise RuleSetError(f"{origin}: {_first_error(exc)}") from exc


def load_district_rules(text: str, base: RuleSet, origin: str = "district rules") -> DistrictRules:
    """Parse a district's rule file and check it merges into ``base`` validly; raises ``RuleSetError``."""
    try:
        rules = DistrictRules.model_validate(json.loads(text))
        check_codes(rules.phrases, default_taxonomy(), origin)
        _check_removed(rules, base, origin)
    except json.JSONDecodeError as exc:
        raise RuleSetError(f"{origin}: not JSON ({exc})") from exc
    except ValidationError as exc:
        raise RuleSetError(f"{origin}: {_first_error(exc)}") from exc
    except ClassificationError as exc:
        raise RuleSetError(str(exc)) from exc
    try:
        merged(base, rules)
    except RuleSetError as exc:
        raise RuleSetError(f"{origin}: {exc}") from exc
    return rules


def _check_removed(rules: DistrictRules, base: RuleSet, origin: str) -> None:
    """Every phrase a district removes must be a phrase of the base classification (a typo would silently
    remove nothing)."""
    known = {
        fold_text(p)
        for rule in (base.classification.rules if base.classification else [])
        for p in rule.phrases
    }
    for index, phrase in enumerate(rules.phrases_removed):
        if fold_text(phrase) not in known:
            raise RuleSetError(
                f"{origin}: phrases_removed.{index} ({phrase}): not a phrase of the base classification"
            )


def _band_points(bands: list[Band], value: int | None) -> int:
    if value is None:
        return 0
    return next((band.points for band in bands if value >= band.at_least), 0)


def _district(jurisdiction: str | None, registry: JurisdictionRegistry | None) -> str | None:
    if jurisdiction is None or registry is None or jurisdiction not in registry:
        return None
    node = registry.nearest(jurisdiction, "district")
    return node.code if node is not None else None


def other_regions(
    clue: ClueFacts,
    rules: RuleSet,
    jurisdiction: str | None = None,
    registry: JurisdictionRegistry | None = None,
) -> list[str]:
    """The regions involved that count: under ``count_regions="outside_district"`` only those outside the
    case's district (all of them without a registry to tell)."""
    if rules.count_regions == "all" or jurisdiction is None or registry is None:
        return list(dict.fromkeys(clue.regions_involved))
    return regions_to_notify(jurisdiction, clue.regions_involved, registry)


def effective_flags(clue: ClueFacts, rules: RuleSet) -> set[RiskFlag]:
    """The clue's flags and those its behaviours imply under the rule set."""
    implied = {rules.flags_from_behaviours[b] for b in clue.behaviours if b in rules.flags_from_behaviours}
    return set(clue.flags) | implied


def key_case_reasons(
    clue: ClueFacts,
    rules: RuleSet,
    *,
    jurisdiction: str | None = None,
    registry: JurisdictionRegistry | None = None,
) -> list[str]:
    """The key-case conditions (重点案件) the clue meets, in a fixed order; empty if none."""
    flags = effective_flags(clue, rules)
    reasons = []
    if clue.estimated_amount_yuan is not None and clue.estimated_amount_yuan >= rules.key_case_amount_yuan:
        reasons.append(KEY_AMOUNT)
    if other_regions(clue, rules, jurisdiction, registry) or RiskFlag.CROSS_REGION in flags:
        reasons.append(KEY_CROSS_REGION)
    if RiskFlag.STABILITY_RISK in flags:
        reasons.append(KEY_STABILITY)
    if {RiskFlag.PUBLIC_OUTCRY, RiskFlag.PETITION_CONFLICT} <= flags:
        reasons.append(KEY_OUTCRY_AND_PETITION)
    return reasons


def grade_for(score: int, rules: RuleSet) -> Grade:
    return next(t.grade for t in rules.grade_thresholds if score >= t.at_least)


def at_least(grade: Grade, floor: Grade | None) -> Grade:
    """The higher of ``grade`` and ``floor``."""
    if floor is None:
        return grade
    return max(grade, floor, key=GRADE_ORDER.index)


def assess(
    clue: ClueFacts,
    rules: RuleSet,
    *,
    jurisdiction: str | None = None,
    registry: JurisdictionRegistry | None = None,
) -> AssessedPayload:
    """Grade a clue: every factor with its value and points, the score, the grade and key-case reasons,
    the sector graded (reporter's or suggested) and the responsible department.

    With the case's ``jurisdiction`` and the ``registry``, the rules of its district apply (its file merged
    over ``rules``) and regions inside the district do not count as other regions.
    """
    district = _district(jurisdiction, registry)
    in_force, district_rules, phrase_rules = rules.in_district(district)
    suggestions = classify(clue.description, phrase_rules) if clue.description else []
    suggested = top_sector(suggestions)
    sector = clue.sector or (suggested.code if suggested else None)
    sector_source: Literal["reporter", "suggested", "officer"] | None = (
        ("officer" if clue.classified_by_officer else "reporter")
        if clue.sector
        else ("suggested" if suggested else None)
    )

    factors = [
        Factor(
            name="participants",
            value=clue.participants,
            points=_band_points(in_force.participants_points, clue.participants),
        ),
        Factor(
            name="estimated_amount_yuan",
            value=clue.estimated_amount_yuan,
            points=_band_points(in_force.amount_points, clue.estimated_amount_yuan),
        ),
    ]
    flags = effective_flags(clue, in_force)
    for flag in RiskFlag:
        present = flag in flags
        factors.append(
            Factor(
                name=f"flag:{flag.value}", value=present, points=in_force.flag_points[flag] if present else 0
            )
        )
    regions = len(other_regions(clue, in_force, jurisdiction, registry))
    factors.append(
        Factor(
            name="regions_involved",
            value=regions,
            points=min(regions * in_force.region_points.each, in_force.region_points.max),
        )
    )
    if in_force.linked_clue_points is not None:
        linked = in_force.linked_clue_points
        factors.append(
            Factor(
                name="linked_clues",
                value=clue.linked_clues,
                points=min(clue.linked_clues * linked.each, linked.max),
            )
        )
    if in_force.sector_points:
        factors.append(
            Factor(name="sector", value=sector, points=in_force.sector_points.get(sector or "", 0))
        )
    score = sum(f.points for f in factors)
    reasons = key_case_reasons(clue, in_force, jurisdiction=jurisdiction, registry=registry)
    grade = grade_for(score, in_force)
    if reasons and in_force.key_case_min_grade is not None:
        factors.append(Factor(name="key_case_floor", value=in_force.key_case_min_grade.value, points=0))
        grade = at_least(grade, in_force.key_case_min_grade)
    department, table = department_for(sector, in_force.departments, in_force.default_department)
    return AssessedPayload(
        grade=grade,
        score=score,
        factors=factors,
        rule_set=rules.version,
        key_case=bool(reasons),
        key_case_reasons=reasons,
        responsible_department=department,
        sector=sector,
        sector_source=sector_source,
        suggestions=suggestions,
        classification_rules=rules.classification.version if rules.classification else None,
        district=district,
        district_rules=district_rules.version if district_rules else None,
        overrides=district_rules.override_list() if district_rules else [],
        routing_table=(district if district_rules and district_rules.departments else "default")
        if table
        else None,
        participants=clue.participants,
        estimated_amount_yuan=clue.estimated_amount_yuan,
    )
