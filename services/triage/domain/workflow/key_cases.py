"""Key cases (重点案件): the flag with its supervising leader (领导包案) and the 2/3/5-year deadlines counted
from the police's filing."""

from __future__ import annotations

from datetime import date, timedelta, timezone

from contracts.envelope import Actor
from contracts.events import KeyCaseFlagged, KeyCaseFlaggedPayload
from services.triage.domain.decisions import Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.state import CaseState
from services.triage.domain.workflow.transitions import require

CHINA = timezone(timedelta(hours=8))


def key_case_deadlines(filed_on: date) -> dict[str, date]:
    """Deadlines from the criminal filing: tried and funds returned in 2 years, supervised from 3, cleared
    by 5 (a 29 February filing falls due on 28 February)."""

    def years_after(n: int) -> date:
        try:
            return filed_on.replace(year=filed_on.year + n)
        except ValueError:
            return filed_on.replace(year=filed_on.year + n, day=28)

    return {
        "trial_and_return_by": years_after(2),
        "supervision_from": years_after(3),
        "clearance_by": years_after(5),
    }


# KeyCaseFlaggedPayload.reasons holds at most this many.
KEY_CASE_REASONS_MAX = 20


def key_case_flag(state: CaseState, actor: Actor, leader: str) -> Decision:
    """Flag a key case (重点案件) with its supervising leader; deadlines once the police filed it.

    The flag names the case's first reasons, as many as the event holds: a re-assessment may have
    added grading reasons to an officer's."""
    reasons = list(state.key_case_reasons)[:KEY_CASE_REASONS_MAX] or ["key_case"]
    police = state.police
    filed_on = (
        police.accepted_at.astimezone(CHINA).date()
        if police is not None and police.accepted_at is not None and not police.returned
        else None
    )
    deadlines: dict[str, date] = key_case_deadlines(filed_on) if filed_on is not None else {}
    payload = KeyCaseFlaggedPayload(
        reasons=reasons, supervising_leader=leader, criminal_filed_on=filed_on, **deadlines
    )
    return Decision(KeyCaseFlagged, payload, actor)


def flag_key_case(state: CaseState, actor: Actor, *, reasons: list[str], leader: str) -> Decision:
    """An officer flags a case as key (or names another supervising leader)."""
    require(state, "measure")
    merged = list(dict.fromkeys([*state.key_case_reasons, *reasons]))
    if len(merged) > KEY_CASE_REASONS_MAX:
        raise TransitionRefused(
            f"case {state.case_id} would have {len(merged)} key-case reasons; a key case has at most "
            f"{KEY_CASE_REASONS_MAX} (key-case-reasons-max)",
            rule="key-case-reasons-max",
        )
    return key_case_flag(state.model_copy(update={"key_case_reasons": tuple(merged)}), actor, leader)
