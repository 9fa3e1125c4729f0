"""The officers' commands as the workspace offers them: for each, the request body of the JSON API, the
route that records it (called as the API calls it, so a command taken on the page is the command taken
through the API) and how to ask the workflow whether it is open to this officer on this case now.

Whether a command is offered is the workflow's answer, never the page's: the access rule
(``commands.authorize``: jurisdiction, role, department), the region that writes the case and the state
machine (``workflow.require``) hide what the officer may not do; then the domain's command itself is run
on the case with neutral facts (``probe``: pure, nothing is recorded), so a refusal that depends on the
case and not on what the officer will write — the lead office at the top of escalation, the police
holding the case, a write-off's quiet period, a reward given already — is shown beside the command, in
Chinese, before the officer fills it in. A refusal of the facts themselves comes when the form is sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cluetrail.auth import Principal
from cluetrail.errors import RuleViolation
from contracts.api import CloseRequest, DeterminationRequest, OfficerAction
from contracts.envelope import utcnow
from contracts.vocabulary import Determination, EscalationTarget, Measure, Outcome
from services.triage.dependencies import TriageDeps
from services.triage.domain import workflow
from services.triage.domain.decisions import district_of
from services.triage.domain.regions import require_writer
from services.triage.domain.state import CaseState
from services.triage.domain.write_off import write_off as rule_write_off
from services.triage.entrypoints.http import (
    handling,
    handoff,
    key_cases,
    merging,
    police,
    reward,
    write_off,
)
from services.triage.entrypoints.http.bodies import (
    EscalationRequest,
    HandoffAnswer,
    HandoffRequest,
    KeyCaseRequest,
    MeasureRequest,
    MergeRequest,
    PoliceAcceptanceRequest,
    ReasonRequest,
    ReclassificationRequest,
    RewardRequest,
    SplitRequest,
    WriteOffRequest,
)
from services.triage.entrypoints.http.commands import authorize
from services.triage.entrypoints.http.refusals import in_chinese

Run = Callable[[uuid.UUID, Any, TriageDeps, Principal], Awaitable[Any]]
Probe = Callable[[TriageDeps, CaseState, Principal], object]
# The state machine's refusals (``workflow.require``): a command they refuse is not offered at all.
STATE_MACHINE = frozenset({"closed-is-final", "assess-first", "state-machine"})
# Neutral facts for a probe: any text the domain takes as given.
TEXT = "-"


def _receiver(state: CaseState) -> str | None:
    return state.handoff.to_jurisdiction if state.handoff is not None else None


@dataclass(frozen=True)
class Action:
    """A command as the workspace offers it (``name``: its form and address, ``label``: its button)."""

    name: str
    label: str
    command: str
    body: type[OfficerAction]
    run: Run
    probe: Probe | None = None
    # Fields the page sets itself (which escalation the form is).
    fixed: Mapping[str, Any] = field(default_factory=dict)
    where: Callable[[CaseState], str | None] = lambda _: None
    # Refusals of the probe that mean there is nothing to act on (no handoff or transfer waiting for an
    # answer, no linked clue to split off): the action is hidden, like one the state machine refuses.
    nothing_to_answer: frozenset[str] = frozenset()


def _escalation(name: str, label: str, command: str, target: EscalationTarget, probe: Probe) -> Action:
    """An escalation's form: one request body and route for every target, the page setting which it is."""
    return Action(
        name, label, command, EscalationRequest, handling.escalate, probe, fixed={"target": target.value}
    )


def _police_answer(
    name: str, label: str, command: str, body: type[OfficerAction], run: Run, probe: Probe
) -> Action:
    """The police's answer to a transfer (accept or return it), hidden once answered: there is one
    answer to a transfer."""
    return Action(name, label, command, body, run, probe, nothing_to_answer=frozenset({"police-answer-once"}))


def _handoff_answer(name: str, label: str, body: type[OfficerAction], run: Run, *, accept: bool) -> Action:
    """The receiving district's answer to a handoff (accept it, or return it with a reason): offered where
    the case is handed to and only while a handoff waits for its answer."""
    return Action(
        name,
        label,
        "handoff answer",
        body,
        run,
        lambda d, s, p: workflow.answer_handoff(
            s, p.as_actor(), accept=accept, text=None if accept else TEXT
        ),
        where=_receiver,
        nothing_to_answer=frozenset({"handoff-pending"}),
    )


ACTIONS: tuple[Action, ...] = (
    Action(
        "determination",
        "研判定性",
        "determination",
        DeterminationRequest,
        handling.determine,
        lambda d, s, p: workflow.determine(
            s,
            p.as_actor(),
            determination=Determination.GENERAL_VIOLATION,
            basis=TEXT,
            measures=[],
            office=p.jurisdiction,
            registry=d.registry,
        ),
    ),
    Action(
        "measure",
        "记录处置措施",
        "measure",
        MeasureRequest,
        handling.record_measure,
        lambda d, s, p: workflow.record_measure(s, p.as_actor(), Measure.WARNING_INTERVIEW, TEXT, None),
    ),
    _escalation(
        "escalation",
        "逐级上报",
        "escalation",
        EscalationTarget.LEAD_OFFICE,
        lambda d, s, p: workflow.escalate_to_lead_office(
            s, p.as_actor(), reason=TEXT, office=p.jurisdiction, registry=d.registry
        ),
    ),
    _escalation(
        "transfer",
        "移送公安",
        "transfer",
        EscalationTarget.POLICE,
        lambda d, s, p: workflow.transfer_to_police(
            s, p.as_actor(), reason=TEXT, summary=TEXT, district=district_of(s.jurisdiction, d.registry)
        ),
    ),
    _police_answer(
        "police-acceptance",
        "受理立案",
        "police acceptance",
        PoliceAcceptanceRequest,
        police.police_acceptance,
        lambda d, s, p: workflow.accept_by_police(
            s, p.as_actor(), police_case_number=TEXT, police_jurisdiction=p.jurisdiction, now=utcnow()
        ),
    ),
    _police_answer(
        "police-return",
        "退回移送",
        "police return",
        ReasonRequest,
        police.police_return,
        lambda d, s, p: workflow.return_by_police(
            s, p.as_actor(), reason=TEXT, police_jurisdiction=p.jurisdiction
        ),
    ),
    Action(
        "close",
        "办结",
        "closing",
        CloseRequest,
        handling.close,
        lambda d, s, p: workflow.close(
            s, p.as_actor(), outcome=Outcome.NO_VIOLATION, summary=TEXT, recovered_amount_yuan=0
        ),
    ),
    Action(
        "write-off",
        "风险销号",
        "write-off",
        WriteOffRequest,
        write_off.write_off,
        # Money recovered: the recovery condition rests on what the officer writes, the others on the case.
        lambda d, s, p: rule_write_off(
            s,
            p.as_actor(),
            outcome=Outcome.RECTIFIED,
            summary=TEXT,
            recovered_amount_yuan=1,
            claims_handled=1,
            now=utcnow(),
            policy=d.policy,
        ),
    ),
    Action(
        "reopen",
        "回头看（重新启动）",
        "reopening",
        ReasonRequest,
        handling.reopen,
        lambda d, s, p: workflow.reopen(s, p.as_actor(), reason=TEXT),
    ),
    Action(
        "handoff",
        "协商移交其他区县",
        "handoff",
        HandoffRequest,
        handoff.request_handoff,
        lambda d, s, p: workflow.request_handoff(
            s,
            p.as_actor(),
            to_jurisdiction=s.jurisdiction,
            from_district=s.jurisdiction,
            to_district="",
            reason=TEXT,
            region=d.policy.region,
        ),
    ),
    _handoff_answer("handoff-accept", "接收移交", HandoffAnswer, handoff.accept_handoff, accept=True),
    _handoff_answer("handoff-return", "退回移交", ReasonRequest, handoff.return_handoff, accept=False),
    Action(
        "key-case",
        "列为重点案件",
        "key case",
        KeyCaseRequest,
        key_cases.flag_key_case,
        lambda d, s, p: workflow.flag_key_case(s, p.as_actor(), reasons=["key_case"], leader=TEXT),
    ),
    Action(
        "classification", "调整领域分类", "reclassification", ReclassificationRequest, handling.reclassify
    ),
    # Merging meets its refusals in the case named in the form.
    Action("merge", "并案", "merge", MergeRequest, merging.merge),
    Action(
        "split",
        "分案",
        "split",
        SplitRequest,
        merging.split,
        # The split of the first clue still linked, if any (the domain reads only the clue case's id).
        lambda d, s, p: workflow.split(
            s,
            s.model_copy(
                update={"case_id": next((e.clue_case_id for e in s.linked if not e.split), s.case_id)}
            ),
            p.as_actor(),
            reason=TEXT,
        ),
        nothing_to_answer=frozenset({"split-linked-clue"}),
    ),
    Action(
        "reward",
        "发放举报奖励",
        "reward",
        RewardRequest,
        reward.grant_reward,
        lambda d, s, p: workflow.grant_reward(s, p.as_actor(), amount_yuan=1, basis=TEXT, verified_in=None),
    ),
)
BY_NAME: Mapping[str, Action] = {a.name: a for a in ACTIONS}


@dataclass(frozen=True)
class Offer:
    """A command open to the officer on the case, or shown with the reason the case refuses it now."""

    action: Action
    refusal: str | None = None


def open_to(deps: TriageDeps, principal: Principal, state: CaseState, action: Action) -> bool:
    """May the officer issue ``action`` on the case as it stands: access rule, writing region and state
    machine (the workflow's own checks, in the order a command meets them)."""
    try:
        authorize(deps.access, principal, state, action.command, action.where(state))
        require_writer(state, deps.policy.region, deps.policy.regions)
        if action.command in workflow.TRANSITIONS:  # a key-case flag meets the state machine in its command
            workflow.require(state, action.command)
    except RuleViolation:
        return False
    return True


def offer(deps: TriageDeps, principal: Principal, state: CaseState, action: Action) -> Offer | None:
    """The action as the case page shows it: None when hidden (not open to the officer now); else offered,
    with the Chinese reason when the domain's command refuses it on this case whatever its facts."""
    if not open_to(deps, principal, state, action):
        return None
    if action.probe is not None:
        try:
            action.probe(deps, state, principal)
        except RuleViolation as refused:
            if refused.rule in STATE_MACHINE or refused.rule in action.nothing_to_answer:
                return None
            return Offer(action, in_chinese(refused))
    return Offer(action)


def offers(deps: TriageDeps, principal: Principal, state: CaseState) -> list[Offer]:
    """Every action the case page shows the officer, in the order of ``ACTIONS``."""
    return [o for a in ACTIONS if (o := offer(deps, principal, state, a)) is not None]
