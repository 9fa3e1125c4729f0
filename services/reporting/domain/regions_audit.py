"""Audit across regions (docs/regions.md, "Audit across regions"): each region's own case log verified on its
own, then every case merged by seq across the regions, and checked against the chain-head anchors every
region published. Pure: the records come from each region's cluster (``adapters.log``).

A record of a region's log is a copy of event (case, seq) with the ``hash`` it carries, written by the region
its ``origin-region`` header names, or — without the header — by the region whose log holds it. A region
*holds* a case when its log has any event of it. Findings, each named as (region, case, seq, hash) and never
by a Kafka offset, since offsets differ from cluster to cluster:

- **broken**: the region's own chain of the case breaks there (``audit.AuditReport``: altered, fork, gap);
- **fork**: two regions hold different hashes at one seq (the first such seq of the case; one finding per
  region, each naming the others' hashes);
- **gap**: a region lacks a copy it must have: every seq up to the last one it wrote (named so by any
  region's copy) or anchored, since it wrote or anchored that event on top of all before it. Events written
  elsewhere after the last one a region wrote are replication still under way, not a gap;
- **altered**: a region's copy contradicts the chain an anchor vouches for — the anchored hash at its seq,
  and before it each hash the next link's ``prev_hash`` names (read from any region's intact copy of that
  link): the region holds another hash at such a seq, or a copy whose content no longer matches its hash.
  The region whose copy was altered is named even when its log verifies on its own (rewritten and re-chained);
- **anchors**: a region's anchor chain breaks (``contracts.anchors``), an anchors topic holds another region's
  anchors, or two regions anchored different hashes at one seq of a case.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from contracts.anchors import Anchor, anchor_verifier
from contracts.chain import ChainVerifier, intact
from services.reporting.domain.audit import AuditReport, LogEntry, Unreadable


@dataclass(frozen=True)
class Problem:
    """One finding of an audit across regions: which region's copy, of which case, at which seq, with
    which hash (``case_id`` None for a region's anchor chain, whose seq it names)."""

    kind: str
    region: str
    case_id: str | None
    seq: int | None
    hash: str | None
    reason: str

    def line(self) -> str:
        """The finding on one line: ``<kind>: region R case C seq S hash H: <reason>``."""
        where = [f"region {self.region}"]
        if self.case_id is not None:
            where.append(f"case {self.case_id}")
        if self.seq is not None:
            where.append(f"seq {self.seq}" if self.case_id is not None else f"anchor seq {self.seq}")
        if self.hash is not None:
            where.append(f"hash {self.hash}")
        return f"{self.kind}: {' '.join(where)}: {self.reason}"


@dataclass(frozen=True)
class Copy:
    """A region's copy of one event: its hash and its predecessor's, whether its content still matches its
    hash, and the region that wrote it."""

    hash: str
    prev_hash: str
    intact: bool
    writer: str
    # Read before any region's log was read to its end a second time: only such a copy obliges its writer
    # (see ``RegionLog.feed``).
    evidence: bool = True


class RegionLog:
    """One region's own case log: verified on its own, and the copy it holds at each seq of each case (the
    first at that seq in log order, the one its services apply)."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.report = AuditReport()
        self.held: dict[str, dict[int, Copy]] = {}
        self._break_hashes: dict[str, str | None] = {}

    def feed(self, entry: LogEntry | Unreadable, *, evidence: bool = True) -> None:
        """One record of the region's log. Logs of live regions are read one after another, so a copy in a
        region read later may name an event its writer wrote after its own log was read: the audit reads
        every log once (``evidence``), then each again to its new end (``evidence=False``), so every event a
        copy of the first reading names is in its writer's log as read (or missing from it: a gap)."""
        breaks = len(self.report.verifier.breaks)
        document = self.report.feed(entry)
        if document is None:
            return
        case, seq, hash_ = str(document.get("case_id")), document.get("seq"), document.get("hash")
        if not isinstance(hash_, str):
            hash_ = None
        if len(self.report.verifier.breaks) > breaks:
            self._break_hashes[case] = hash_
        if not isinstance(seq, int) or isinstance(seq, bool) or hash_ is None:
            return
        origin = entry.origin if isinstance(entry, LogEntry) else None
        copy = Copy(hash_, str(document.get("prev_hash")), intact(document), origin or self.region, evidence)
        self.held.setdefault(case, {}).setdefault(seq, copy)

    def broken(self) -> list[Problem]:
        return [
            Problem("broken", self.region, b.case_id, b.seq, self._break_hashes.get(b.case_id), b.reason)
            for b in self.report.breaks
        ]


@dataclass
class AnchorBook:
    """Every region's anchors, from every anchors topic read (a region's own and its peers' replicas): each
    region's chain verified with the one chain step, the heads of the anchors that verify kept by case."""

    verifier: ChainVerifier = field(default_factory=anchor_verifier)
    # case -> seq -> hash -> the regions that anchored it
    heads: dict[str, dict[int, dict[str, set[str]]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    anchors: int = 0

    def feed(self, raw: bytes, *, owner: str, cluster: str) -> None:
        """One record of the anchors topic of region ``owner`` as read in region ``cluster``'s cluster."""
        where = f"in the anchors of region {owner} read in region {cluster}'s cluster"
        try:
            anchor = Anchor.model_validate_json(raw)
            document: dict[str, Any] = json.loads(raw)
        except (ValidationError, ValueError):
            self.problems.append(
                Problem("anchors", owner, None, None, None, f"a record that is no anchor {where}")
            )
            return
        if anchor.region != owner:
            self.problems.append(
                Problem(
                    "anchors",
                    owner,
                    None,
                    anchor.seq,
                    anchor.hash,
                    f"an anchor of region {anchor.region} {where}",
                )
            )
            return
        before = self.verifier.head(owner).seq
        found = self.verifier.feed(document)
        if found is not None:
            self.problems.append(
                Problem("anchors", owner, None, found.seq, anchor.hash, f"{found.reason} ({where})")
            )
        if self.verifier.head(owner).seq == before + 1:  # applied: new, and on the chain
            self.anchors += 1
            for head in anchor.heads:
                by_hash = self.heads.setdefault(str(head.case_id), {}).setdefault(head.seq, {})
                by_hash.setdefault(head.hash, set()).add(owner)

    def anchored(self, case: str) -> list[tuple[int, str, list[str]]]:
        """The case's anchored heads as (seq, hash, the regions that anchored it), by seq."""
        return [
            (seq, hash_, sorted(regions))
            for seq, by_hash in sorted(self.heads.get(case, {}).items())
            for hash_, regions in sorted(by_hash.items())
        ]


@dataclass
class RegionsAudit:
    """An audit across regions: each region's log and every region's anchors, then the merge."""

    logs: dict[str, RegionLog] = field(default_factory=dict)
    anchors: AnchorBook = field(default_factory=AnchorBook)

    def log(self, region: str) -> RegionLog:
        return self.logs.setdefault(region, RegionLog(region))

    def cases(self) -> list[str]:
        return sorted({c for log in self.logs.values() for c in log.held} | set(self.anchors.heads))

    def problems(self) -> list[Problem]:
        found = [p for log in self.logs.values() for p in log.broken()]
        found += self.anchors.problems
        for case in self.cases():
            found += merge_case(case, self.logs, self.anchors)
        return found


def merge_case(case: str, logs: Mapping[str, RegionLog], anchors: AnchorBook) -> list[Problem]:
    """The findings of one case merged across the regions' logs and checked against its anchored heads."""
    holding = {region: log.held[case] for region, log in logs.items() if case in log.held}
    return [
        *_fork(case, holding),
        *_gaps(case, holding, logs, anchors),
        *_contradictions(case, holding, anchors),
        *_anchored_twice(case, anchors),
    ]


def _fork(case: str, holding: Mapping[str, dict[int, Copy]]) -> list[Problem]:
    for seq in sorted({s for copies in holding.values() for s in copies}):
        hashes = {region: copies[seq].hash for region, copies in holding.items() if seq in copies}
        if len(set(hashes.values())) > 1:
            return [
                Problem(
                    "fork",
                    region,
                    case,
                    seq,
                    hash_,
                    "another hash at this seq: "
                    + ", ".join(
                        f"region {other} holds {h}" for other, h in sorted(hashes.items()) if h != hash_
                    ),
                )
                for region, hash_ in sorted(hashes.items())
            ]
    return []


def _gaps(
    case: str, holding: Mapping[str, dict[int, Copy]], logs: Iterable[str], anchors: AnchorBook
) -> list[Problem]:
    """A region must hold every seq up to the last one it wrote or anchored (see the module's docstring)."""
    wrote: dict[str, int] = {}
    for copies in holding.values():
        for seq, copy in copies.items():
            if copy.evidence:
                wrote[copy.writer] = max(wrote.get(copy.writer, 0), seq)
    anchored: dict[str, int] = {}
    for seq, _, regions in anchors.anchored(case):
        for region in regions:
            anchored[region] = max(anchored.get(region, 0), seq)
    found = []
    for region in sorted(logs):
        through = max(wrote.get(region, 0), anchored.get(region, 0))
        held = holding.get(region, {})
        missing = [s for s in range(1, through + 1) if s not in held]
        if not missing:
            continue
        first = missing[0]
        elsewhere = sorted((r, c[first].hash) for r, c in holding.items() if first in c)
        why = "wrote" if wrote.get(region, 0) == through else "anchored"
        reason = (
            f"missing from this region's log ({len(missing)} of seqs 1..{through}), which must hold the case "
            f"through seq {through}, the last it {why}"
        )
        if elsewhere:
            reason += f"; region {elsewhere[0][0]} holds it"
        found.append(Problem("gap", region, case, first, elsewhere[0][1] if elsewhere else None, reason))
    return found


def _contradictions(case: str, holding: Mapping[str, dict[int, Copy]], anchors: AnchorBook) -> list[Problem]:
    """Each region's first copy that contradicts a chain anchored by any region."""
    first: dict[str, Problem] = {}
    for seq, anchored_hash, regions in anchors.anchored(case):
        by = ", ".join(regions)
        expected = _anchored_chain(seq, anchored_hash, holding)
        for region, copies in sorted(holding.items()):
            at = next(
                (
                    s
                    for s in sorted(copies)
                    if s in expected and not (copies[s].hash == expected[s] and copies[s].intact)
                ),
                None,
            )
            if at is None or (region in first and (first[region].seq or 0) <= at):
                continue
            if copies[at].hash == expected[at]:
                reason = f"its content no longer matches its hash, which region {by} anchored"
            elif at == seq:
                reason = f"region {by} anchored {anchored_hash} at this seq"
            else:
                reason = (
                    f"the chain region {by} anchored at seq {seq} ({anchored_hash}) has {expected[at]} here"
                )
            first[region] = Problem("altered", region, case, at, copies[at].hash, reason)
    return [first[region] for region in sorted(first)]


def _anchored_chain(seq: int, anchored_hash: str, holding: Mapping[str, dict[int, Copy]]) -> dict[int, str]:
    """The hashes of the chain an anchor vouches for, by seq: the anchored hash at its seq, and before it as
    far as some region holds an intact copy of the next link, whose ``prev_hash`` names the hash before it."""
    expected = {seq: anchored_hash}
    for at in range(seq, 1, -1):
        link = next(
            (c[at] for c in holding.values() if at in c and c[at].hash == expected[at] and c[at].intact), None
        )
        if link is None:
            break
        expected[at - 1] = link.prev_hash
    return expected


def _anchored_twice(case: str, anchors: AnchorBook) -> list[Problem]:
    """Regions that anchored different hashes at one seq of the case: one finding per region and hash."""
    found = []
    for seq, by_hash in sorted(anchors.heads.get(case, {}).items()):
        if len(by_hash) < 2:
            continue
        for hash_, regions in sorted(by_hash.items()):
            others = ", ".join(
                f"{', '.join(sorted(r))} anchored {h}" for h, r in sorted(by_hash.items()) if h != hash_
            )
            found += [
                Problem(
                    "anchors", region, case, seq, hash_, f"another hash anchored at this seq: region {others}"
                )
                for region in sorted(regions)
            ]
    return found
