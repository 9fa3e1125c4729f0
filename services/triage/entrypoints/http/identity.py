"""Opening a case's reporter identity where this region may: sealed by this region's intake (its reporter
keys), or, for a case handed in from another region, sealed for this region's public key in the offer that
brought it (docs/regions.md). Shared by the reveal request and a handoff to another region, which seals the
identity again for the receiving region."""

from __future__ import annotations

from typing import Any, cast

import asyncpg

from contracts.events import ClueReportedPayload, HandoffRequestedPayload, parse_document, upcast
from services.triage.adapters import cases
from services.triage.dependencies import TriageDeps
from services.triage.domain.state import CaseState


async def open_identity(
    conn: asyncpg.Connection, deps: TriageDeps, state: CaseState
) -> dict[str, Any] | None:
    """The reporter's identity (None: reported anonymously). Raises ``SealError`` when it is sealed for a
    key this region does not hold."""
    held = state.region_reporter
    if held is not None and held.region == deps.policy.region and deps.region_sealer is not None:
        body = (await cases.event_bodies(conn, state.case_id, held.seq))[held.seq - 1]
        offer = HandoffRequestedPayload.model_validate(upcast(dict(parse_document(body)))["payload"])
        if offer.reporter is not None:
            return cast(dict[str, Any], deps.region_sealer.open(offer.reporter, str(state.case_id)))
    clue = (await cases.event_bodies(conn, state.case_id, 1))[0]
    sealed = ClueReportedPayload.model_validate(parse_document(clue)["payload"]).reporter
    return None if sealed is None else cast(dict[str, Any], deps.sealer.open(sealed, str(state.case_id)))
