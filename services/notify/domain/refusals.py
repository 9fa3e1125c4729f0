"""Refused peer events (docs/regions.md): a peer region's event that triage's importer refused (a fork, a gap,
a second writer, an altered or unverifiable event: its dead letter) is alerted as ``region-chain-refused`` to
the lead office of the case in the region that refused it; the notice reaches the peer, whose notify alerts
the lead office of the case there. Once each: the dedupe key names the region that refused the event and the
refused record's digest, the same in both. Pure rules, no I/O; the alert says the refused event's seq, type
and hash, never its payload.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.notices import Notice
from contracts.regions import ImportFault, importer_peer
from services.notify.domain.cases import CaseFacts
from services.notify.domain.regions import CHAIN_REFUSED, Here

# An importer's reason names case ids and seqs; longer than this it is cut (a notice is read by people).
REASON_CHARS = 300
# How a notice says each fault triage's importer refuses a peer's event for (its dead letter's details.fault).
FAULTS: Mapping[ImportFault, str] = {
    ImportFault.SECOND_WRITER: "另一区域正在办理该案件，来源区域无权写入（第二写入方）",
    ImportFault.FORK: "与本区域已验证的案件记录分叉",
    ImportFault.GAP: "案件事件缺号",
    ImportFault.ALTERED: "事件内容与其哈希不符（被篡改）",
    ImportFault.REFUSED: "无法验证，未导入",
}
# Dead letters written before they carried the fault as a code say it in the importer's words.
FAULT_WORDS: tuple[tuple[str, ImportFault], ...] = (
    ("second writer", ImportFault.SECOND_WRITER),
    ("chain fork", ImportFault.FORK),
    ("chain gap", ImportFault.GAP),
    ("hash", ImportFault.ALTERED),
)


@dataclass(frozen=True)
class Refusal:
    """A peer's event that triage's importer refused, read from its dead letter: as much of the event as
    can be read (a forged record may be anything), never its payload."""

    peer: str
    reason: str
    digest: str  # SHA-256 of the refused record's bytes: the refusal's identity in every region
    case_id: uuid.UUID | None = None
    seq: int | None = None
    event_id: str | None = None
    event_type: str | None = None
    event_hash: str | None = None
    jurisdiction: str | None = None
    handoff_to: str | None = None
    fault_code: ImportFault | None = None  # the importer's, from its dead letter's details
    case_jurisdiction: str | None = None  # where the case stands in the refusing region (its details)

    @property
    def fault(self) -> tuple[str, str]:
        """The fault (code and Chinese words) the importer named, or, in an older dead letter, worded."""
        code = self.fault_code or next(
            (fault for words, fault in FAULT_WORDS if words in self.reason), ImportFault.REFUSED
        )
        return code.value, FAULTS[code]


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _string(value: Any, limit: int = 100) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def refusal_of(document: Mapping[str, Any]) -> Refusal | None:
    """The refusal a dead letter records when triage's importer wrote it (``consumer`` names the importer
    of a peer), else None. The refused record is read as far as it can be; ``ValueError`` when the dead
    letter holds no record at all."""
    consumer = document.get("consumer")
    peer = importer_peer(consumer) if isinstance(consumer, str) else None
    if peer is None:
        return None
    text, encoded = document.get("value_text"), document.get("value_base64")
    if isinstance(text, str):
        raw = text.encode()
    elif isinstance(encoded, str):
        raw = base64.b64decode(encoded, validate=True)
    else:
        raise ValueError("the dead letter holds neither value_text nor value_base64")
    try:
        read = json.loads(raw)
    except ValueError:
        read = None
    event: dict[str, Any] = read if isinstance(read, dict) else {}
    inner = event.get("payload")
    payload: dict[str, Any] = inner if isinstance(inner, dict) else {}
    seq = event.get("seq")
    reason = str(document.get("reason") or "")
    found = document.get("details")
    details: dict[str, Any] = found if isinstance(found, dict) else {}
    code = details.get("fault")
    return Refusal(
        peer=peer,
        reason=reason if len(reason) <= REASON_CHARS else reason[: REASON_CHARS - 1] + "…",
        digest=hashlib.sha256(raw).hexdigest(),
        case_id=_uuid(event.get("case_id")) or _uuid(document.get("key")),
        seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
        event_id=_string(event.get("event_id")),
        event_type=_string(event.get("type")),
        event_hash=_string(event.get("hash")),
        jurisdiction=_string(event.get("jurisdiction")),
        handoff_to=_string(payload.get("to_jurisdiction")),
        fault_code=ImportFault(code) if code in {f.value for f in ImportFault} else None,
        case_jurisdiction=_string(details.get("case_jurisdiction")),
    )


def alert_stream(case_id: uuid.UUID | None, region: str) -> str:
    """The notice stream of a refusal's alert: its case's, or the region's own for a record naming none."""
    return str(case_id) if case_id is not None else f"{CHAIN_REFUSED}/{region}"


def refusal_key(detected_in: str, digest: str) -> str:
    """One alert per refused record and region that refused it, in every region alerted."""
    return f"{CHAIN_REFUSED}/{detected_in}/{digest}"


def case_places(facts: CaseFacts | None, now: str | None = None) -> list[str]:
    """Where a case stands and stood, latest first: ``now`` (where triage, which refused the event, holds
    it), then notify's facts of it (which may lag triage's by moments)."""
    places = [] if facts is None else [facts.jurisdiction, *reversed(facts.earlier_jurisdictions)]
    return list(dict.fromkeys([now, *places] if now else places))


def refusal_facts(refusal: Refusal, here: Here, facts: CaseFacts | None) -> dict[str, Any]:
    """What the alert of a refusal detected in this region says."""
    code, said = refusal.fault
    return {
        "detected_in": here.region,
        "detected_in_name": here.name(here.region),
        "relayed_from": None,
        "from_region": refusal.peer,
        "from_region_name": here.name(refusal.peer),
        "seq": refusal.seq,
        "event_id": refusal.event_id,
        "event_type": refusal.event_type,
        "event_hash": refusal.event_hash,
        "event_jurisdiction": refusal.jurisdiction,
        "handoff_to": refusal.handoff_to,
        "case_places": case_places(facts, refusal.case_jurisdiction),
        "fault": code,
        "fault_label": said,
        "reason": refusal.reason,
        "record_sha256": refusal.digest,
    }


def refusal_places(refusal: Refusal, facts: CaseFacts | None) -> list[str | None]:
    """Where the alert of a refusal detected here may go, in order: the case as this region knows it,
    then where the refused event says it is or goes."""
    return [*case_places(facts, refusal.case_jurisdiction), refusal.handoff_to, refusal.jurisdiction]


def relayed_places(notice: Notice, facts: CaseFacts | None) -> list[str | None]:
    """Where the alert of a peer's refusal may go here, in order: the case as this region knows it, then
    as the peer knew it, then where the refused event says it is or goes."""
    told = notice.facts.get("case_places")
    theirs = [c for c in told if isinstance(c, str)] if isinstance(told, list) else []
    extra = [notice.facts.get("handoff_to"), notice.facts.get("event_jurisdiction")]
    return [*case_places(facts), *theirs, *(c if isinstance(c, str) else None for c in extra)]


def relayed_facts(notice: Notice, peer: str) -> dict[str, Any]:
    """A peer's refusal as this region alerts it: what the peer said, and which notice said it."""
    return {
        **notice.facts,
        "relayed_from": peer,
        "original_notice_id": str(notice.notice_id),
        "original_hash": notice.hash,
    }


def relayed_key(notice: Notice) -> str:
    """The same alert key the detecting region used: one alert per refusal in each region."""
    facts = notice.facts
    return refusal_key(str(facts.get("detected_in")), str(facts.get("record_sha256") or notice.notice_id))
