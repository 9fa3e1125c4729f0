"""Cases of 龙岗街道 as triage's domain sees them, without services: the clue that starts one, the officers
who act on it, the rules and policy it is decided by, and the commands run through the chain step.

Shared by the unit tests of triage's fold, decisions and workflow; a test module never imports another
test module's helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

from contracts.envelope import GENESIS_HASH, Actor, Envelope, uuid7
from contracts.events import (
    ClueReported,
    ClueReportedPayload,
    EvidenceRef,
    SealedValue,
    Subject,
    seal_event,
)
from contracts.jurisdictions import default_registry
from contracts.vocabulary import (
    ClueSource,
    Determination,
    Outcome,
    RiskFlag,
    SubjectKind,
)
from services.triage.domain import workflow
from services.triage.domain import write_off as write_off_rule
from services.triage.domain.chain import advance
from services.triage.domain.decisions import Decision
from services.triage.domain.fold import fold
from services.triage.domain.grading import RuleSet, load_rule_set
from services.triage.domain.quiet_periods import QuietPeriods
from services.triage.domain.state import CaseState

RULES: RuleSet = load_rule_set(
    resources.files("services.triage").joinpath("triage-rules-2026.1.json").read_text(encoding="utf-8")
)


REGISTRY = default_registry()
YAOHAI = "340102"
SHOUXIAN = "340422"
LONGGANG_HUADU = "340102L01001"
STREET_OFFICE = "340102L01"  # 龙岗街道处非办
STREET = Actor(kind="officer", id="officer-longgang-01", role="street_officer")
LEAD = Actor(kind="officer", id="lead-yaohai-01", role="district_lead_officer")
POLICE = Actor(kind="officer", id="police-yaohai-01", role="police")
POLICY = workflow.WorkflowPolicy(quiet_periods=QuietPeriods.uniform(90))


def clue(
    *,
    amount: int = 3_000_000,
    reporter: bool = True,
    name: str = "华都康养服务中心",
    participants: int = 120,
    evidence: tuple[EvidenceRef, ...] = (),
    flags: tuple[RiskFlag, ...] = (),
) -> Envelope:
    """A clue about a care home in 华都社区, the first event of a case: 120 participants and 3,000,000 yuan
    (triage grades it serious), from a named reporter unless ``reporter`` is false."""
    sealed = SealedValue(key_id="dev-1", nonce="00", ciphertext="00") if reporter else None
    payload = ClueReportedPayload(
        source=ClueSource.PUBLIC_APP,
        subject=Subject(kind=SubjectKind.SHOP, name=name, address="华都路1号"),
        description="以预订养老床位为名吸收老年人资金，承诺年化回报15%。",
        sector="elderly_care",
        participants=participants,
        estimated_amount_yuan=amount,
        evidence=list(evidence),
        flags=list(flags),
        reporter=sealed,
        receipt_digest="a" * 64,
    )
    return seal_event(
        ClueReported,
        case_id=uuid7(),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=LONGGANG_HUADU,
        actor=Actor(kind="reporter", id="anonymous"),
        payload=payload,
        correlation_id=uuid7(),
    )


def run(state: CaseState, *decisions: Decision) -> tuple[CaseState, list[Envelope]]:
    return advance(
        state, decisions, causation_id=None, traceparent=None, rules=RULES, registry=REGISTRY, policy=POLICY
    )


def assessed(**kwargs: object) -> CaseState:
    return run(fold(None, clue(**kwargs)))[0]  # type: ignore[arg-type]


def determined(kind: Determination = Determination.GENERAL_VIOLATION, **kwargs: object) -> CaseState:
    state = assessed(**kwargs)
    return run(state, *determine(state, kind))[0]


def determine(
    state: CaseState,
    kind: Determination,
    actor: Actor = STREET,
    office: str = STREET_OFFICE,
    summary: str | None = None,
) -> list[Decision]:
    return workflow.determine(
        state,
        actor,
        determination=kind,
        basis="现场核查属实。",
        measures=[],
        office=office,
        registry=REGISTRY,
        summary=summary,
    )


def transferred(**kwargs: object) -> tuple[CaseState, list[Envelope]]:
    state = assessed(**kwargs)
    return run(
        state,
        *workflow.transfer_to_police(
            state,
            LEAD,
            reason="涉嫌非法吸收公众存款",
            summary="门店吸收老年人资金三百万元。",
            district=YAOHAI,
        ),
    )


def closed() -> CaseState:
    state = determined()
    return run(state, close(state))[0]


def close(state: CaseState, outcome: Outcome = Outcome.RECTIFIED) -> Decision:
    return workflow.close(state, STREET, outcome=outcome, summary="已整改。", recovered_amount_yuan=0)


def write_off(state: CaseState, now: datetime) -> Decision:
    return write_off_rule.write_off(
        state,
        LEAD,
        outcome=Outcome.FUNDS_RETURNED,
        summary="资金已全部清退。",
        recovered_amount_yuan=3_000_000,
        claims_handled=120,
        now=now,
        policy=POLICY,
    )


LATER = datetime.now(UTC) + timedelta(days=91)
