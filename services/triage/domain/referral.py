"""The referral bundle for the police (移送材料): the case's facts as of its transfer, the evidence of its
clue and of the clues linked to it, and the manifest whose SHA-256 the ``referral-packaged`` event records.

Each event hash covers that event's content and its predecessor, so the manifest's list of event hashes pins
the case's history through the transfer; anyone holding the bundle recomputes the manifest hash to verify it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from contracts.envelope import canonical_bytes
from contracts.events import EvidenceRef, ReferralFacts, ReferralPackagedPayload
from services.triage.domain.state import CaseState


def referral_facts(state: CaseState) -> ReferralFacts:
    """The case's facts as the state holds them (folded through the transfer, for a referral bundle)."""
    clue = state.clue
    return ReferralFacts(
        jurisdiction=state.jurisdiction,
        subject_name=clue.subject_name,
        credit_code=clue.credit_code,
        address=clue.address,
        sector=clue.sector,
        behaviours=list(clue.behaviours),
        participants=clue.participants,
        estimated_amount_yuan=clue.estimated_amount_yuan,
        grade=state.grade,
        key_case=state.key_case,
        determination=state.determination,
        determination_basis=state.determination_basis,
        measures=list(state.measures),
        linked_clues=sum(1 for link in state.linked if not link.split),
    )


def referral_manifest(
    case_id: str,
    event_hashes: list[str],
    evidence: list[EvidenceRef],
    summary: str,
    facts: ReferralFacts | None,
) -> dict[str, Any]:
    """What the referral bundle's manifest hash covers: the case, its chain through the transfer, the
    evidence, the summary and (from referral-packaged v2 on) the facts as of the transfer.

    Each event hash covers that event's content and its predecessor, so listing them pins the history.
    """
    manifest: dict[str, Any] = {
        "case_id": case_id,
        "through_seq": len(event_hashes),
        "event_hashes": event_hashes,
        "evidence": [e.model_dump(mode="json") for e in evidence],
        "summary": summary,
    }
    if facts is not None:
        manifest["facts"] = facts.model_dump(mode="json")
    return manifest


def manifest_sha256(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(manifest)).hexdigest()


def package_referral(state: CaseState, summary: str) -> ReferralPackagedPayload:
    """The referral-packaged payload for the case as it stands (its last event is the transfer): the
    evidence of its clue and of the clues linked to it, and its facts as of the transfer."""
    evidence = list(state.clue_evidence)
    facts = referral_facts(state)
    manifest = referral_manifest(str(state.case_id), list(state.hashes), evidence, summary, facts)
    return ReferralPackagedPayload(
        manifest_sha256=manifest_sha256(manifest),
        through_seq=state.last_seq,
        event_count=state.last_seq,
        evidence=evidence,
        summary=summary,
        facts=facts,
    )
