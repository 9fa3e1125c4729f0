"""Audit of the case log: replaying every case's hash chain and naming the first broken event of each case.
Pure: the records come from the topic or from a JSONL copy made by ``cluetrail log export``
(``adapters.log``).

The verifier works on the JSON exactly as written (never upcast).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.chain import ChainBreak, ChainVerifier
from contracts.events import UnreadableEvent, read_document


@dataclass(frozen=True)
class LogEntry:
    """One record of the case log, from the topic or an export line; ``origin`` is the region a copy of
    another region's event names (its ``origin-region`` header), None for the region's own events."""

    partition: int
    offset: int
    value: dict[str, Any] | str | bytes | None
    origin: str | None = None


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

    def feed(self, entry: LogEntry | Unreadable) -> dict[str, Any] | None:
        """Verify one record; return its document (as written), or None when it is not one."""
        if isinstance(entry, Unreadable):
            self.unreadable.append(entry)
            return None
        return self.feed_value(entry.partition, entry.offset, entry.value)

    def feed_value(
        self, partition: int, offset: int, value: dict[str, Any] | str | bytes | None
    ) -> dict[str, Any] | None:
        """``feed`` of a record's value (as a ``LogEntry`` holds it) at ``partition`` and ``offset``."""
        plain = False
        try:
            if isinstance(value, dict):
                document = value
            elif isinstance(value, str):
                document, plain = read_document(value.encode())
            else:
                document, plain = read_document(value or b"")
        except UnreadableEvent as exc:
            self.unreadable.append(Unreadable(partition, offset, str(exc)))
            return None
        self.verifier.feed(document, plain=plain)
        return document

    def verify_value(self, partition: int, offset: int, value: bytes | None) -> None:
        """``feed_value`` of a record's bytes, read no further than its chain's fields when they show
        themselves intact (``ChainVerifier.feed_written``): the same findings, without the document."""
        if value is None or not self.verifier.feed_written(value):
            self.feed_value(partition, offset, value)

    def share(self, most_unreadable: int) -> dict[str, Any]:
        """What a verification of a share of the log's partitions found, as JSON for the process that
        merges the shares (``absorb``): counts, how many chains broke, and up to ``most_unreadable``
        unreadable records with how many there were."""
        verifier = self.verifier
        return {
            "events": verifier.events_checked,
            "cases": verifier.cases_checked,
            "duplicates": verifier.duplicates,
            "breaks": len(verifier.breaks),
            "unreadable": [[u.partition, u.offset, u.reason] for u in self.unreadable[:most_unreadable]],
            "unreadable_total": len(self.unreadable),
        }

    def absorb(self, share: dict[str, Any]) -> None:
        """Add a share's findings (``share``) whose chains were all whole."""
        if share["breaks"] or share["unreadable_total"] > len(share["unreadable"]):
            raise ValueError("only a share with every chain whole and every unreadable record listed")
        self.verifier.absorb(events=share["events"], cases=share["cases"], duplicates=share["duplicates"])
        self.unreadable += [Unreadable(int(p), int(o), str(reason)) for p, o, reason in share["unreadable"]]

    @property
    def breaks(self) -> list[ChainBreak]:
        return list(self.verifier.breaks.values())
