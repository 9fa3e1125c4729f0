"""notify's facts of a case as the notify tests make them: a key case of 大店社区 the police filed on
10 April 2024, so it must be tried by 10 April 2026, is supervised from 2027 and cleared by 2029.

Shared by notify's unit and integration tests; a test module never imports another test module's helpers.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

from contracts.envelope import uuid7
from services.notify.domain.cases import CaseFacts, add_years

FILED = date(2024, 4, 10)


def filed_key_case(case_id: uuid.UUID | None = None, **changes: object) -> CaseFacts:
    """The key case, with ``changes`` to its facts (a fresh case id unless one is given)."""
    facts = CaseFacts(
        case_id=case_id or uuid7(),
        jurisdiction="340102L01003",
        key_case=True,
        criminal_filed_on=FILED,
        trial_and_return_by=add_years(FILED, 2),
        supervision_from=add_years(FILED, 3),
        clearance_by=add_years(FILED, 5),
    )
    return dataclasses.replace(facts, **changes)  # type: ignore[arg-type]
