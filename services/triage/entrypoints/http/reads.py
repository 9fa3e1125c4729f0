"""Reading a case: triage's view of it, its trail as written and the referral bundle for the police (the
reporter's identity is read in ``reporter``).

A case is read by whoever's subtree holds it, by every district that held it before a handoff (its trail,
read only: acting follows the case), by the district a handoff waits on, by the police once it is
transferred to them, and by auditors. A refusal looks the same whether the case exists elsewhere or not.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cluetrail.auth import AccessPolicy, Principal, Role
from cluetrail.errors import Forbidden, NotFound
from contracts.events import ReferralFacts, ReferralPackaged, parse_document, read_event
from contracts.vocabulary import CaseStatus
from services.triage.adapters import cases
from services.triage.dependencies import Deps, TriageDeps
from services.triage.domain.decisions import district_of
from services.triage.domain.fold import fold_all
from services.triage.domain.referral import referral_facts, referral_manifest
from services.triage.domain.state import CaseState
from services.triage.entrypoints.http.bodies import (
    CaseView,
    HandoffView,
    KeyCaseView,
    LinkedClueView,
    PoliceView,
    ReferralBundle,
)
from services.triage.entrypoints.http.commands import ACCEPTED, NOT_YOURS, PrincipalDep

router = APIRouter(prefix="/v1/cases", tags=["cases"])


def readable(
    policy: AccessPolicy, principal: Principal, state: CaseState, *, former_holders: bool = True
) -> bool:
    """Who may read a case: the jurisdiction rule, plus the district a handoff waits on and (for its trail,
    ``former_holders``) every jurisdiction that held the case before a handoff — read only: acting follows
    the case's current jurisdiction."""
    handoff = state.handoff
    if (
        handoff is not None
        and principal.role is Role.DISTRICT_LEAD_OFFICER
        and policy.covers(principal, handoff.to_jurisdiction)
    ):
        return True
    return policy.can_read_case(
        principal,
        state.jurisdiction,
        transferred_to_police=state.transferred_to_police,
        held_by=state.held_by if former_holders else (),
    )


async def _readable_state(deps: TriageDeps, principal: Principal, case_id: uuid.UUID) -> CaseState:
    async with deps.pool.acquire() as conn:
        state = await cases.load(conn, case_id)
    if state is None:
        if principal.role is Role.AUDITOR:
            raise NotFound(f"case {case_id} is unknown to triage")
        raise Forbidden(NOT_YOURS, rule="jurisdiction-subtree")
    if not readable(deps.access, principal, state):
        raise Forbidden(NOT_YOURS, rule="jurisdiction-subtree")
    return state


@router.get(
    "/{case_id}",
    response_model=CaseView,
    responses={401: ACCEPTED[401], 403: ACCEPTED[403], 404: {"description": "Unknown case (auditors)"}},
)
async def case_view(case_id: uuid.UUID, deps: Deps, who: PrincipalDep) -> CaseView:
    """Triage's view of a case, for those who may read it."""
    state = await _readable_state(deps, who, case_id)
    police, flag = state.police, state.key_case_flag
    return CaseView(
        case_id=state.case_id,
        status=state.status,
        jurisdiction=state.jurisdiction,
        grade=state.grade,
        score=state.score,
        rule_set=state.rule_set,
        key_case=state.key_case,
        key_case_reasons=list(state.key_case_reasons),
        responsible_department=state.responsible_department,
        participants=state.clue.participants,
        estimated_amount_yuan=state.clue.estimated_amount_yuan,
        determination=state.determination,
        outcome=state.outcome,
        recovered_amount_yuan=state.recovered_amount_yuan,
        escalations=list(state.escalations),
        waiting_on=(state.escalated_to or district_of(state.jurisdiction, deps.registry))
        if state.status == CaseStatus.ESCALATED
        else None,
        measures=list(state.measures),
        police=None if police is None else PoliceView(**police.model_dump(exclude={"summary", "rule"})),
        key_case_flag=None
        if flag is None
        else KeyCaseView(**{**flag.model_dump(exclude={"seq"}), "reasons": list(flag.reasons)}),
        linked_clues=[
            LinkedClueView(
                clue_case_id=e.clue_case_id, clue_event_id=e.clue_event_id, basis=e.basis, split=e.split
            )
            for e in state.linked
        ],
        merged_into=state.merged_into,
        handoff_pending=None
        if state.handoff is None
        else HandoffView(
            from_jurisdiction=state.handoff.from_jurisdiction, to_jurisdiction=state.handoff.to_jurisdiction
        ),
        held_by=list(state.held_by) or [state.jurisdiction],
        reopened=state.reopened,
        reward_granted=state.reward_granted_yuan > 0,
        last_seq=state.last_seq,
        last_hash=state.last_hash,
    )


@router.get(
    "/{case_id}/referral",
    response_model=ReferralBundle,
    responses={
        401: ACCEPTED[401],
        403: ACCEPTED[403],
        404: {"description": "No referral bundle for the case"},
    },
)
async def referral(case_id: uuid.UUID, deps: Deps, who: PrincipalDep) -> ReferralBundle:
    """The referral bundle of a case transferred to the police, verifiable against its manifest hash: the
    case's facts as of the transfer, the evidence of its clue and linked clues, every event through the
    transfer as written."""
    state = await _readable_state(deps, who, case_id)
    police = state.police
    if police is None or police.referral_seq is None or police.manifest_sha256 is None:
        raise NotFound(f"case {case_id} has no referral bundle", rule="referral-after-transfer")
    async with deps.pool.acquire() as conn:
        bodies = await cases.event_bodies(conn, case_id, police.referral_seq)
    bundle_event = read_event(bodies[-1])
    if not isinstance(bundle_event, ReferralPackaged):
        raise LookupError(f"case {case_id} seq {police.referral_seq} is not its referral bundle")
    packaged = bundle_event.payload
    written = [parse_document(b) for b in bodies[: packaged.through_seq]]
    # Facts as of the transfer: recorded in the bundle's event (v2, covered by the manifest); for a v1
    # bundle, folded from the events through the transfer (not covered: v1 manifests held no facts).
    facts = packaged.facts or facts_through(bodies[: packaged.through_seq])
    manifest = referral_manifest(
        str(case_id), [e["hash"] for e in written], packaged.evidence, packaged.summary, packaged.facts
    )
    return ReferralBundle(
        case_id=case_id,
        manifest=manifest,
        manifest_sha256=police.manifest_sha256,
        facts=facts.model_dump(mode="json"),
        evidence=packaged.evidence,
        events=written,
    )


def facts_through(bodies: list[bytes]) -> ReferralFacts:
    """The case's facts folded from its events as written through the transfer (for a v1 bundle, whose
    event did not record them)."""
    folded = fold_all(None, [read_event(b) for b in bodies])
    assert folded is not None  # a bundle follows at least the clue and the transfer
    return referral_facts(folded)


@router.get(
    "/{case_id}/history",
    response_model=list[dict[str, Any]],
    responses={
        401: ACCEPTED[401],
        403: ACCEPTED[403],
        404: {"description": "Unknown case (auditors)"},
        503: {"description": "Triage holds only part of the case's events (a rebuild fills them)"},
    },
)
async def history(case_id: uuid.UUID, deps: Deps, who: PrincipalDep) -> list[dict[str, Any]] | JSONResponse:
    """The case's trail: every event exactly as written, in seq order, so the reader can verify its hash
    chain — for whoever may read the case, including a district that handed it to another (read only)."""
    state = await _readable_state(deps, who, case_id)
    async with deps.pool.acquire() as conn:
        try:
            bodies = await cases.event_bodies(conn, case_id, state.last_seq)
        except LookupError as exc:
            return JSONResponse(status_code=503, content={"detail": str(exc), "errors": []})
    return [parse_document(b) for b in bodies]
