"""Reporting takes a case's sector from an officer's ``reclassified`` and folds an identity reading as
history (the chain advances, no column changes)."""

from __future__ import annotations

from contracts.envelope import Envelope, uuid7
from contracts.events import (
    CaseReclassified,
    ReclassifiedPayload,
    ReporterIdentityViewed,
    ReporterIdentityViewedPayload,
    seal_event,
)
from services.reporting.domain.ledger import Step, chain_step, fold
from tests.unit.case_chains import OFFICER, clue


def follow(previous: Envelope, cls: type[Envelope], payload: object) -> Envelope:
    return seal_event(
        cls,
        case_id=previous.case_id,
        seq=previous.seq + 1,
        prev_hash=previous.hash,
        jurisdiction=previous.jurisdiction,
        actor=OFFICER,
        correlation_id=previous.correlation_id,
        payload=payload,  # type: ignore[arg-type]
    )


def test_the_officers_sector_is_the_ledgers_and_a_reading_is_history() -> None:
    first = clue(uuid7())
    row = fold(None, first)
    assert row.sector == "elderly_care"
    again = follow(
        first,
        CaseReclassified,
        ReclassifiedPayload(sector="auction", behaviours=["promised_high_returns"], reason="更正。"),
    )
    assert chain_step(row, again) is Step.APPLY
    row = fold(row, again)
    assert row.sector == "auction"
    assert row.last_seq == 2
    viewed = follow(
        again,
        ReporterIdentityViewed,
        ReporterIdentityViewedPayload(purpose="核实举报人。", viewer_jurisdiction="340102"),
    )
    after = fold(row, viewed)
    assert (after.last_seq, after.last_hash) == (3, viewed.hash)
    assert after.sector == "auction"
    assert after.status == row.status
