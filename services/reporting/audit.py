"""Audit of the case log: replaying every case's hash chain, and exporting the log for an auditor.

The verifier works on the JSON exactly as written (never upcast), from the topic or from a JSONL copy
made by ``cluetrail log export``; it names the first broken event of each case.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import ConsumerRecord

from cluetrail.kafka import read_log
from cluetrail.settings import CommonSettings
from contracts.chain import ChainBreak, ChainVerifier
from contracts.events import UnreadableEvent, parse_document


@dataclass(frozen=True)
class LogEntry:
    """One record of the case log, from the topic or an export line."""

    partition: int
    offset: int
    value: dict[str, Any] | str | bytes | None


@dataclass(frozen=True)
class Unreadable:
    """A record that is not an event document at all (no case to verify it against)."""

    partition: int
    offset: int
    reason: str


@dataclass
class AuditReport:
    """What a verification saw: events and cases checked, broken chains, unreadable records."""

    verifier: ChainVerifier = field(default_factory=ChainVerifier)
    unreadable: list[Unreadable] = field(default_factory=list)

    def feed(self, entry: LogEntry | Unreadable) -> None:
        if isinstance(entry, Unreadable):
            self.unreadable.append(entry)
            return
        try:
            if isinstance(entry.value, dict):
                document = entry.value
            elif isinstance(entry.value, str):
                document = parse_document(entry.value.encode())
            else:
                document = parse_document(entry.value or b"")
        except UnreadableEvent as exc:
            self.unreadable.append(Unreadable(entry.partition, entry.offset, str(exc)))
            return
        self.verifier.feed(document)

    @property
    def breaks(self) -> list[ChainBreak]:
        return list(self.verifier.breaks.values())


def export_line(record: ConsumerRecord[bytes, bytes]) -> str:
    """One record as a JSON line: the event as a JSON object, or the raw value as text when it is not JSON."""
    raw = record.value or b""
    value: Any
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        value = raw.decode(errors="backslashreplace")
    line = json.dumps(
        {
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode(errors="backslashreplace") if record.key is not None else None,
            "timestamp": record.timestamp,
            "headers": {k: v.decode(errors="backslashreplace") for k, v in record.headers or ()},
            "value": value,
        },
        ensure_ascii=False,
    )
    # JSON leaves these unescaped, but str.splitlines and many JSONL readers end a line at them: a clue's
    # text holding one would split its record in two. They can only stand inside strings, so escape them.
    return line.translate(_LINE_BREAKS_IN_TEXT)


_LINE_BREAKS_IN_TEXT = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


async def topic_batches(
    settings: CommonSettings, topic: str | None = None
) -> AsyncIterator[tuple[list[ConsumerRecord[bytes, bytes]], int]]:
    """The topic from offset zero to its current end, in batches, each with the total to expect."""
    async for records, end in read_log(settings, topic):
        yield records, end.total


def file_entries(path: Path) -> Iterator[LogEntry | Unreadable]:
    """The entries of an export; a line that is not a record is reported as unreadable at its line number."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield LogEntry(int(record["partition"]), int(record["offset"]), record.get("value"))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                yield Unreadable(-1, number, f"line {number} of {path} is not an exported record")
