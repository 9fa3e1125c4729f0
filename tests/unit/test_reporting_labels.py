"""Every sector of the taxonomy prints with its Chinese label in the ledgers, the annex tables and the
dashboard's filter: the labels come from the taxonomy data, not from a list of reporting's own."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from contracts import labels as contracts_labels
from contracts.jurisdictions import default_registry
from contracts.taxonomy import Term, default_taxonomy
from services.reporting.domain import labels as L
from services.reporting.domain.periods import Period
from services.reporting.domain.tables import disposal_table, ledger_table

SECTORS = default_taxonomy().sectors
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("term", SECTORS, ids=lambda t: t.code)
def test_each_sector_prints_its_chinese_label_in_the_ledger(term: Term) -> None:
    row = {
        "case_id": "00000000-0000-0000-0000-000000000001",
        "jurisdiction": "340102L01",
        "status": "reported",
        "source": "grid_patrol",
        "subject_name": "某公司",
        "sector": term.code,
        "reported_at": datetime(2026, 10, 3, tzinfo=UTC),
        "measures": [],
    }
    printed = ledger_table("ledger", [row], default_registry()).rows[0]["sector_name"]
    assert printed == term.zh
    assert CHINESE.search(printed) and term.code not in printed


def test_each_sector_prints_its_chinese_label_in_the_disposal_table() -> None:
    placed = [("340102L01", term.code, {"total": 1}) for term in SECTORS]
    table = disposal_table(placed, default_registry(), "340102", Period.parse("2026-10"))
    names = {row["sector"]: row["sector_name"] for row in table.rows if row["sector"]}
    assert names == {term.code: term.zh for term in SECTORS}


def test_the_sector_labels_are_the_taxonomys() -> None:
    assert L.sector_options() == [(term.code, term.zh) for term in SECTORS]
    assert L.sector_label(None) == ""
    # A code the taxonomy does not know prints as is.
    assert L.sector_label("retired_code") == "retired_code"
    assert not hasattr(L, "SECTORS")


def test_reporting_prints_contracts_labels_and_adds_only_the_ungraded_grade() -> None:
    """One table per vocabulary for every service: a label corrected or a code added in contracts prints
    the same in reporting's tables, timelines and dashboard."""
    shared = set(L.__all__) - {"GRADES", "label", "labels", "sector_label", "sector_options"}
    assert shared
    for name in shared:
        assert getattr(L, name) is getattr(contracts_labels, name), name
    assert L.GRADES == {**contracts_labels.GRADES, "ungraded": "未定级"}
    # events reporting's own table lacked, once shown by their codes in a case's timeline
    assert L.EVENT_TYPES["reclassified"] == "调整领域分类"
    assert L.EVENT_TYPES["reporter-identity-viewed"] == "查阅举报人信息"
    # an escalation is also a police transfer or a cross-region notice; a merge is 并案, as the status says
    assert L.EVENT_TYPES["escalated"] == "上报/移送/通报"
    assert L.OUTCOMES["merged"] == L.CASE_STATUSES["merged"] == "已并案"
