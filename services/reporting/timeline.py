"""A case's timeline as a hash-stamped file for an auditor (``cluetrail case history --output``).

The file is JSON: ``timeline`` (the case and its events, each the whole envelope exactly as written on
the case log: ids, seq, times, actor, causation and correlation, prev_hash, hash, payload) and
``stamp``: the SHA-256 of the timeline's canonical JSON (sorted keys, no spaces, UTF-8:
contracts.envelope.canonical_bytes), the chain head (the last event's hash), whether every event's
prev_hash is the hash of the event before it, and whether every event's hash is the SHA-256 of its own
canonical bytes. Anyone can recompute all of it from the file alone; the chain head can be compared with
the case log (``cluetrail audit verify`` recomputes every hash there).

Files of format ``cluetrail-case-timeline/1`` carried the projection's history rows, which leave out
fields the hash covers: for those only the stamp and the links can be checked.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.envelope import GENESIS_HASH, canonical_bytes, verify_chain

FORMAT = "cluetrail-case-timeline/2"
LINKS_ONLY_FORMAT = "cluetrail-case-timeline/1"


def chain_linked(entries: list[dict[str, Any]]) -> bool:
    """Seq 1, 2, 3… with each prev_hash equal to the previous event's hash (GENESIS_HASH first)."""
    previous = GENESIS_HASH
    for number, entry in enumerate(entries, start=1):
        if entry["seq"] != number or entry["prev_hash"] != previous:
            return False
        previous = entry["hash"]
    return True


def first_break(events: list[dict[str, Any]]) -> str | None:
    """The first event whose hash is not its content's or that does not continue the chain, named by seq
    and event id with the reason (None: every hash recomputed and linked)."""
    for found in verify_chain(events).values():
        return f"seq {found.seq} event {found.event_id}: {found.reason}"
    return None


def stamped_timeline(case_id: str, events: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """The file's content for ``events`` (the case's envelopes as written, in seq order)."""
    timeline = {
        "format": FORMAT,
        "case_id": case_id,
        "written_at": datetime.now(UTC).isoformat(),
        "source": source,
        "events": events,
    }
    return {
        "timeline": timeline,
        "stamp": {
            "algorithm": "sha256 over canonical JSON of timeline",
            "timeline_sha256": hashlib.sha256(canonical_bytes(timeline)).hexdigest(),
            "chain_head": events[-1]["hash"] if events else GENESIS_HASH,
            "last_seq": events[-1]["seq"] if events else 0,
            "events": len(events),
            "chain_linked": chain_linked(events),
            "hashes_recomputed": first_break(events) is None,
        },
    }


def timeline_file_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_timeline_file(path: Path) -> tuple[list[str], bool]:
    """What is wrong with a timeline file (nothing: an empty list), and whether every event's hash was
    recomputed (false for a format-1 file, whose entries lack fields the hash covers)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        timeline, stamp = document["timeline"], document["stamp"]
        events = timeline["events"]
        kind = timeline.get("format")
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{path} is not a case timeline file: {exc}"], False
    if kind not in (FORMAT, LINKS_ONLY_FORMAT):
        return [f"{path} has an unknown timeline format {kind!r}"], False
    problems = []
    if hashlib.sha256(canonical_bytes(timeline)).hexdigest() != stamp.get("timeline_sha256"):
        problems.append("the timeline does not match its stamp: it was changed after it was written")
    if not chain_linked(events):
        problems.append("the events do not link into one chain (seq or prev_hash)")
    recomputed = kind == FORMAT
    if recomputed:
        broken = first_break(events)
        if broken is not None:
            problems.append(f"an event's hash does not hold: {broken}")
    head = events[-1]["hash"] if events else GENESIS_HASH
    if head != stamp.get("chain_head"):
        problems.append(f"the chain head in the stamp is not the last event's hash ({head})")
    return problems, recomputed
