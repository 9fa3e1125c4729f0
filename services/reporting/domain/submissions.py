"""Which offices submit a month's annex tables (报送), when, and how often: the rules a submission is held
to before its tables are read. Pure; submitting itself (reading, sealing, claiming, publishing) is
``adapters.reports.prepare_submission`` and ``adapters.submissions.record_submission``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cluetrail.errors import InvalidInput, RuleViolation
from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain.periods import Period

SUBMITTING_LEVELS = ("community", "street", "district")


class AlreadySubmitted(RuleViolation):
    """A month is submitted once; corrections go into the next month's adjustment rows."""


def already_submitted(jurisdiction: str, period: Period, first: dict[str, Any]) -> AlreadySubmitted:
    """The refusal of a second submission of ``period`` by ``jurisdiction``, naming the ``first``."""
    by = first["submitted_by"]
    return AlreadySubmitted(
        f"{jurisdiction} submitted {period} already (submission {first['submission_id']}, "
        f"{first['submitted_at'].isoformat()}, by {by.get('id')}); later changes appear as adjustment rows",
        rule="reporting.submitted-once",
    )


def require_submittable(
    registry: JurisdictionRegistry, jurisdiction: str, period: Period, now: datetime
) -> None:
    """Refuse (``InvalidInput``) a submission by an office that sends no monthly tables, or of a month that
    has not begun by ``now``."""
    if jurisdiction not in registry or registry.get(jurisdiction).level not in SUBMITTING_LEVELS:
        raise InvalidInput(
            f"{jurisdiction} does not submit monthly tables (communities, streets and districts do)",
            rule="reporting.submission-level",
        )
    if period > Period.of(now):
        raise InvalidInput(f"{period} has not begun", rule="reporting.period")
