"""Chinese labels of the codes events carry, as the annex tables, ledgers and dashboard print them (unknown
codes print as is).

Every table is contracts' (``contracts/labels.py``), the one set of labels every service shows; reporting
adds only the grade of a case not graded yet, which is its own. Sectors are labelled by the taxonomy data
(``contracts/data/taxonomy.json``), the list intake checks clues against, so a sector added there prints in
Chinese here too.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts import labels as contracts_labels
from contracts.labels import (
    ACTOR_KINDS,
    CASE_STATUSES,
    CHANNELS,
    CLUE_SOURCES,
    DETERMINATIONS,
    EVENT_TYPES,
    JURISDICTION_LEVELS,
    MEASURES,
    NOTICE_KINDS,
    OUTCOMES,
    ROLES,
    label,
    labels,
)
from contracts.taxonomy import default_taxonomy
from services.reporting.domain.ledger import UNGRADED

__all__ = [
    "ACTOR_KINDS",
    "CASE_STATUSES",
    "CHANNELS",
    "CLUE_SOURCES",
    "DETERMINATIONS",
    "EVENT_TYPES",
    "GRADES",
    "JURISDICTION_LEVELS",
    "MEASURES",
    "NOTICE_KINDS",
    "OUTCOMES",
    "ROLES",
    "label",
    "labels",
    "sector_label",
    "sector_options",
]

GRADES: Mapping[str, str] = {**contracts_labels.GRADES, UNGRADED: "未定级"}


def sector_label(code: object) -> str:
    """The Chinese label of a sector code, from the taxonomy (empty for None, the code itself when the
    taxonomy does not know it)."""
    if code is None:
        return ""
    return default_taxonomy().label(str(getattr(code, "value", code)))


def sector_options() -> list[tuple[str, str]]:
    """Every sector of the taxonomy as (code, Chinese label), in the taxonomy's order."""
    return [(term.code, term.zh) for term in default_taxonomy().sectors]
