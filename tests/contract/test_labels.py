"""Every code a person may read has its Chinese label in contracts/labels.py: each vocabulary, every event
type and notice kind, officers' roles, actors and jurisdiction levels, and every key-case reason triage's
grading gives."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import get_args

import pytest

from cluetrail.auth import Role
from contracts import labels, vocabulary
from contracts.envelope import Actor
from contracts.events import EVENT_CLASSES
from contracts.jurisdictions import Level
from contracts.notices import NoticeKind
from services.triage.domain import grading

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("vocabulary_class", "table"),
    [
        (vocabulary.Grade, labels.GRADES),
        (vocabulary.CaseStatus, labels.CASE_STATUSES),
        (Role, labels.ROLES),
        (vocabulary.SubjectKind, labels.SUBJECT_KINDS),
        (vocabulary.ClueSource, labels.CLUE_SOURCES),
        (vocabulary.RiskFlag, labels.RISK_FLAGS),
        (vocabulary.KeyCaseReason, labels.KEY_CASE_REASONS),
        (vocabulary.Determination, labels.DETERMINATIONS),
        (vocabulary.EscalationTarget, labels.ESCALATION_TARGETS),
        (vocabulary.EscalationLevel, labels.ESCALATION_LEVELS),
        (vocabulary.Outcome, labels.OUTCOMES),
        (vocabulary.Measure, labels.MEASURES),
        (vocabulary.ReopenTrigger, labels.REOPEN_TRIGGERS),
        (vocabulary.RegionHandoff, labels.REGION_HANDOFFS),
    ],
)
def test_every_code_of_a_vocabulary_has_a_chinese_label(
    vocabulary_class: type[StrEnum], table: dict[str, str]
) -> None:
    assert set(table) == {member.value for member in vocabulary_class}
    assert all(CJK.search(text) for text in table.values())


def test_every_event_type_notice_kind_and_channel_has_a_chinese_label() -> None:
    assert set(labels.EVENT_TYPES) == set(EVENT_CLASSES)
    assert set(labels.NOTICE_KINDS) == set(get_args(NoticeKind))
    assert set(labels.CHANNELS) == {"webhook", "email", "sms", "receipt"}
    for table in (labels.EVENT_TYPES, labels.NOTICE_KINDS, labels.CHANNELS):
        assert all(CJK.search(text) for text in table.values())


def test_every_kind_of_actor_and_level_of_the_tree_has_a_chinese_label() -> None:
    assert set(labels.ACTOR_KINDS) == set(get_args(Actor.model_fields["kind"].annotation))
    assert set(labels.JURISDICTION_LEVELS) == set(get_args(Level))
    for table in (labels.ACTOR_KINDS, labels.JURISDICTION_LEVELS):
        assert all(CJK.search(text) for text in table.values())


def test_every_key_case_reason_triage_gives_is_in_the_vocabulary() -> None:
    given = {
        grading.KEY_AMOUNT,
        grading.KEY_CROSS_REGION,
        grading.KEY_STABILITY,
        grading.KEY_OUTCRY_AND_PETITION,
    }
    assert given <= {reason.value for reason in vocabulary.KeyCaseReason}
    assert labels.key_case_reason("stability_risk") == "涉稳隐患"


def test_an_unknown_code_is_shown_as_it_is() -> None:
    assert labels.label(labels.GRADES, "catastrophic") == "catastrophic"
    assert labels.label(labels.GRADES, None) == ""
    assert labels.labels(labels.KEY_CASE_REASONS, ["stability_risk", "cross_region"]) == "涉稳隐患、跨区域"
    assert labels.key_case_reason("vulnerable_targets") == "针对老年人等弱势群体"  # a risk flag
    assert labels.key_case_reason("officer_own_code") == "officer_own_code"


@pytest.mark.parametrize("rule", list(vocabulary.EscalationRule), ids=str)
def test_an_escalation_by_each_of_triages_rules_is_worded_in_chinese_not_from_its_english_reason(
    rule: vocabulary.EscalationRule,
) -> None:
    text = labels.escalation_reason(
        rule.value,
        "key case: amount_at_least_100m",
        target_place="吴忠市利通区",
        level="district",
        key_case_reasons=["stability_risk"],
    )
    assert CJK.search(text) and not re.search(r"[a-z]", text)
    if rule == vocabulary.EscalationRule.KEY_CASE:
        assert text == "列为重点案件（涉稳隐患）"
    # an officer's escalation is the officer's own words
    assert labels.escalation_reason(None, "性质认定存在争议", target_place="瑶海区") == "性质认定存在争议"
