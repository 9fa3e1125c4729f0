"""移送材料: the referral bundle of a case with a linked clue carries the evidence of both clues (each piece
once) and the case's facts as they stood at the transfer; its manifest hash covers the facts too."""

from __future__ import annotations

import hashlib
from pathlib import Path

from contracts.envelope import canonical_bytes
from contracts.events import ClueLinked, EvidenceRef, ReferralPackaged, read_event
from contracts.vocabulary import MatchBasis, Measure
from services.triage.domain import workflow
from services.triage.domain.decisions import SERVICE_ACTOR
from services.triage.domain.fold import fold
from services.triage.domain.referral import referral_facts
from services.triage.entrypoints.http.reads import facts_through
from tests.unit.triage_cases import LEAD, STREET, YAOHAI, clue, run

STOREFRONT = EvidenceRef(sha256="ab" * 32, media_type="image/jpeg", filename="门头照片.jpg", size_bytes=2048)
CONTRACT = EvidenceRef(
    sha256="cd" * 32, media_type="application/pdf", filename="认购合同.pdf", size_bytes=9000
)


def test_the_bundle_carries_the_linked_clues_evidence_and_the_facts_as_of_the_transfer() -> None:
    parent, _ = run(fold(None, clue(evidence=(STOREFRONT,))))
    second = fold(None, clue(name="华都康养服务中心", participants=30, evidence=(CONTRACT, STOREFRONT)))
    linked, events = run(parent, *workflow.link_clue(parent, second, SERVICE_ACTOR, MatchBasis.NAME_ADDRESS))
    link = events[0]
    assert isinstance(link, ClueLinked) and link.payload.evidence == [CONTRACT, STOREFRONT]

    transferred, events = run(
        linked,
        *workflow.transfer_to_police(
            linked, LEAD, reason="涉嫌非法吸收公众存款", summary="两条线索指向同一门店。", district=YAOHAI
        ),
    )
    bundle = events[-1]
    assert isinstance(bundle, ReferralPackaged)
    assert bundle.payload.evidence == [STOREFRONT, CONTRACT]
    facts = bundle.payload.facts
    assert facts is not None
    assert (facts.participants, facts.estimated_amount_yuan, facts.linked_clues) == (150, 6_000_000, 1)
    manifest = {
        "case_id": str(transferred.case_id),
        "through_seq": bundle.payload.through_seq,
        "event_hashes": list(transferred.hashes[: bundle.payload.through_seq]),
        "evidence": [STOREFRONT.model_dump(mode="json"), CONTRACT.model_dump(mode="json")],
        "summary": "两条线索指向同一门店。",
        "facts": facts.model_dump(mode="json"),
    }
    assert bundle.payload.manifest_sha256 == hashlib.sha256(canonical_bytes(manifest)).hexdigest()

    # a measure after the transfer is not part of what was referred
    later, _ = run(
        transferred,
        workflow.record_measure(transferred, STREET, Measure.SEIZURE, "查封门店账册。", None),
    )
    assert later.measures == (Measure.SEIZURE,)
    assert referral_facts(later).measures == [Measure.SEIZURE]
    assert facts.measures == []


def test_a_v1_bundle_shows_the_facts_folded_through_its_transfer() -> None:
    fixtures = Path(__file__).parent.parent / "contract" / "fixtures"
    lines = (fixtures / "case-events-v1.jsonl").read_bytes().splitlines()[:4] + (
        fixtures / "case-events-workflow-v1.jsonl"
    ).read_bytes().splitlines()
    bundle = read_event(lines[6])
    assert isinstance(bundle, ReferralPackaged) and bundle.payload.facts is None
    facts = facts_through(lines[: bundle.payload.through_seq])
    # as of seq 6: the clue's 120 participants and 3,000,000 yuan with the 30 and 500,000 of the clue linked
    # at seq 6, the determination of seq 3, the warning interview of seq 5 — not the police's acceptance after
    assert (facts.participants, facts.estimated_amount_yuan, facts.linked_clues) == (150, 3_500_000, 1)
    assert facts.determination == "suspected_illegal_fundraising"
    assert facts.measures == [Measure.WARNING_INTERVIEW]
