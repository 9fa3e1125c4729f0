"""A case's timeline as a hash-stamped file for an auditor (``cluetrail case history --output``).

The file is JSON: ``timeline`` (the case, its events — each the whole envelope exactly as written on the
case log: ids, seq, times, actor, causation and correlation, prev_hash, hash, payload — and notify's
notices about it, each exactly as written on the notices topic) and ``stamp``: the SHA-256 of the
timeline's canonical JSON (sorted keys, no spaces, UTF-8: contracts.envelope.canonical_bytes), the chain
head (the last event's hash), whether every event's prev_hash is the hash of the event before it, whether
every event's hash is the SHA-256 of its own canonical bytes, and the same for the notices, whose chains
are their streams' (the head of each). Anyone can recompute all of it from the file alone; the chain
head can be compared with the case log (``cluetrail audit verify`` recomputes every hash there) and the
notice heads with the notices topic (``cluetrail notify verify-notices``).

Files of format ``cluetrail-case-timeline/2`` hold the events only and are checked as before; files of
format ``/1`` carried the projection's history rows, which leave out fields the hash covers: for those
only the stamp and the links can be checked.

Pure: the file is read and written by ``cluetrail case history`` and ``case check``
(``entrypoints.cli.cases``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from contracts.chain import verify_chain
from contracts.envelope import GENESIS_HASH, canonical_bytes
from contracts.notices import verify_notices

FORMAT = "cluetrail-case-timeline/3"
EVENTS_ONLY_FORMAT = "cluetrail-case-timeline/2"
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


def in_chain_order(notices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Notices by stream, each stream in seq order: the order their chains are checked in."""

    def place(notice: dict[str, Any]) -> tuple[str, int]:
        seq = notice.get("seq")
        return str(notice.get("stream")), seq if isinstance(seq, int) else 0

    return sorted(notices, key=place)


def first_notice_break(notices: list[dict[str, Any]]) -> str | None:
    """The first notice of the case (by stream) whose hash is not its content's or that does not continue
    its stream's chain from its first notice, named by stream, seq and notice id with the reason."""
    for found in verify_notices(in_chain_order(notices)).values():
        return f"stream {found.case_id} seq {found.seq} notice {found.event_id}: {found.reason}"
    return None


def notice_heads(notices: list[dict[str, Any]]) -> dict[str, str]:
    """The hash of the last notice of each stream."""
    return {str(n.get("stream")): str(n.get("hash")) for n in in_chain_order(notices)}


def stamped_timeline(
    case_id: str, events: list[dict[str, Any]], source: str, notices: Sequence[dict[str, Any]] = ()
) -> dict[str, Any]:
    """The file's content for ``events`` (the case's envelopes as written, in seq order) and ``notices``
    (notify's notices about the case as written, in the order they were recorded)."""
    timeline = {
        "format": FORMAT,
        "case_id": case_id,
        "written_at": datetime.now(UTC).isoformat(),
        "source": source,
        "events": events,
        "notices": list(notices),
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
            "notices": len(notices),
            "notice_heads": notice_heads(list(notices)),
            "notice_hashes_recomputed": first_notice_break(list(notices)) is None,
        },
    }


def timeline_file_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()


def timeline_problems(content: bytes, name: str) -> tuple[list[str], bool]:
    """What is wrong with the timeline file ``name`` holding ``content`` (nothing: an empty list), and
    whether every event's hash was recomputed (false for a format-1 file, whose entries lack fields the
    hash covers)."""
    try:
        document = json.loads(content.decode("utf-8"))
        timeline, stamp = document["timeline"], document["stamp"]
        events = timeline["events"]
        kind = timeline.get("format")
    except (ValueError, KeyError, TypeError) as exc:
        return [f"{name} is not a case timeline file: {exc}"], False
    if kind not in (FORMAT, EVENTS_ONLY_FORMAT, LINKS_ONLY_FORMAT):
        return [f"{name} has an unknown timeline format {kind!r}"], False
    problems = []
    if hashlib.sha256(canonical_bytes(timeline)).hexdigest() != stamp.get("timeline_sha256"):
        problems.append("the timeline does not match its stamp: it was changed after it was written")
    if not chain_linked(events):
        problems.append("the events do not link into one chain (seq or prev_hash)")
    recomputed = kind != LINKS_ONLY_FORMAT
    if recomputed:
        broken = first_break(events)
        if broken is not None:
            problems.append(f"an event's hash does not hold: {broken}")
    head = events[-1]["hash"] if events else GENESIS_HASH
    if head != stamp.get("chain_head"):
        problems.append(f"the chain head in the stamp is not the last event's hash ({head})")
    if kind == FORMAT:
        problems.extend(_notice_problems(timeline.get("notices"), stamp))
    return problems, recomputed


def _notice_problems(notices: Any, stamp: dict[str, Any]) -> list[str]:
    if not isinstance(notices, list) or not all(isinstance(n, dict) for n in notices):
        return ["the timeline's notices are not a list of notices"]
    problems = []
    broken = first_notice_break(notices)
    if broken is not None:
        problems.append(f"a notice's hash or link does not hold: {broken}")
    if notice_heads(notices) != stamp.get("notice_heads"):
        problems.append("the notice heads in the stamp are not the last notices' hashes")
    return problems
