"""A case's timeline as a hash-stamped file for an auditor (``cluetrail case history --output``).

The file is JSON: ``timeline`` (the case, who did what and when, each event's seq, prev_hash and hash, the
payload as written) and ``stamp``: the SHA-256 of the timeline's canonical JSON (sorted keys, no spaces,
UTF-8: contracts.envelope.canonical_bytes), the chain head (the last event's hash) and whether every
event's prev_hash is the hash of the event before it. Anyone can recompute the stamp from the file; the
chain head can be compared with the case log (``cluetrail audit verify`` recomputes every hash there).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.envelope import GENESIS_HASH, canonical_bytes

FORMAT = "cluetrail-case-timeline/1"


def chain_linked(entries: list[dict[str, Any]]) -> bool:
    """Seq 1, 2, 3… with each prev_hash equal to the previous event's hash (GENESIS_HASH first)."""
    previous = GENESIS_HASH
    for number, entry in enumerate(entries, start=1):
        if entry["seq"] != number or entry["prev_hash"] != previous:
            return False
        previous = entry["hash"]
    return True


def stamped_timeline(case_id: str, entries: list[dict[str, Any]], source: str) -> dict[str, Any]:
    timeline = {
        "format": FORMAT,
        "case_id": case_id,
        "written_at": datetime.now(UTC).isoformat(),
        "source": source,
        "events": entries,
    }
    return {
        "timeline": timeline,
        "stamp": {
            "algorithm": "sha256 over canonical JSON of timeline",
            "timeline_sha256": hashlib.sha256(canonical_bytes(timeline)).hexdigest(),
            "chain_head": entries[-1]["hash"] if entries else GENESIS_HASH,
            "last_seq": entries[-1]["seq"] if entries else 0,
            "events": len(entries),
            "chain_linked": chain_linked(entries),
        },
    }


def timeline_file_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_timeline_file(path: Path) -> list[str]:
    """What is wrong with a timeline file (nothing: an empty list)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        timeline, stamp = document["timeline"], document["stamp"]
        events = timeline["events"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{path} is not a case timeline file: {exc}"]
    problems = []
    if hashlib.sha256(canonical_bytes(timeline)).hexdigest() != stamp.get("timeline_sha256"):
        problems.append("the timeline does not match its stamp: it was changed after it was written")
    if not chain_linked(events):
        problems.append("the events do not link into one chain (seq or prev_hash)")
    head = events[-1]["hash"] if events else GENESIS_HASH
    if head != stamp.get("chain_head"):
        problems.append(f"the chain head in the stamp is not the last event's hash ({head})")
    return problems
