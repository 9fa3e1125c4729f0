"""The one chain step: how every reader of a hash chain (a case's events, a stream of notices) decides
what an incoming link is.

A chain's reader remembers its head (the last seq and hash it applied) and, for older seqs, the hash it
recorded at each. An incoming link (seq, prev_hash, hash) is then exactly one of:

- **apply**: the next link (seq = head + 1, prev_hash = the head's hash);
- **duplicate**: a copy of a link already applied (the same hash at that seq, however long ago: a
  producer's retry, an outbox relay that lost its "published" mark, a replayed partition);
- **fork**: another link at a seq already applied, or a next link that names another predecessor — a
  second writer, or an altered history;
- **gap**: a link further ahead than the next one (the links between are missing).

Whether a link's hash matches its own content is a separate check (``intact``): a reader that has not
already checked it (the consume loop does, on decoding) must, also for a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

import msgspec

from contracts.envelope import GENESIS_HASH, compute_hash


class Step(Enum):
    """What a reader does with an incoming link."""

    APPLY = "apply"
    DUPLICATE = "duplicate"


class Fault(Enum):
    """Why a link cannot be applied."""

    FORK = "fork"
    GAP = "gap"
    ALTERED = "altered"
    UNREADABLE = "unreadable"


class ChainFault(ValueError):
    """A link that breaks its chain; ``fault`` says how, ``reason`` says where, in words."""

    def __init__(self, fault: Fault, reason: str) -> None:
        super().__init__(reason)
        self.fault = fault
        self.reason = reason


class Head(NamedTuple):
    """The last link a reader applied to one chain."""

    seq: int
    hash: str


START = Head(0, GENESIS_HASH)


def needs_recorded_hash(head: Head, seq: int) -> bool:
    """Whether ``chain_step`` needs the hash recorded at ``seq`` (a link before the head's)."""
    return 0 < seq < head.seq


def chain_step(head: Head, seq: int, prev_hash: str, hash: str, recorded_hash: str | None = None) -> Step:
    """Decide an incoming link against a chain whose last applied link is ``head`` (``START`` when none).

    ``recorded_hash`` is the hash the reader recorded at ``seq`` when ``needs_recorded_hash`` says so;
    a repeat is a duplicate only when its hash is the one recorded at its seq. Raises ``ChainFault``.
    """
    if seq <= head.seq:
        if seq < 1:
            raise ChainFault(Fault.UNREADABLE, f"seq {seq} is not a position in a chain (it starts at 1)")
        known = head.hash if seq == head.seq else recorded_hash
        if known is None:
            raise ValueError(f"the hash recorded at seq {seq} is needed to tell a duplicate from a fork")
        if hash == known:
            return Step.DUPLICATE
        raise ChainFault(Fault.FORK, f"seq {seq} was already recorded with a different hash")
    if seq != head.seq + 1:
        raise ChainFault(
            Fault.GAP, f"seq {seq} follows seq {head.seq}: events {head.seq + 1}..{seq - 1} are missing"
        )
    if prev_hash != head.hash:
        raise ChainFault(Fault.FORK, f"prev_hash does not match the hash of seq {head.seq}")
    return Step.APPLY


def step_against(hashes: Sequence[str], seq: int, prev_hash: str, hash: str) -> Step:
    """``chain_step`` for a reader that keeps every hash of the chain in seq order (seq 1's first)."""
    head = Head(len(hashes), hashes[-1]) if hashes else START
    recorded = hashes[seq - 1] if needs_recorded_hash(head, seq) else None
    return chain_step(head, seq, prev_hash, hash, recorded)


def intact(document: Mapping[str, Any], *, plain: bool = False) -> bool:
    """Whether the document's ``hash`` is the hash of its own content (it was not altered). ``plain``: it
    was read as plain JSON (``contracts.events.read_document``)."""
    return document.get("hash") == compute_hash(document, plain=plain)


# The top-level hash member as canonical JSON writes it (keys sorted: never the first of an event's members).
_HASH_MEMBER = b',"hash":"'
_HASH_HEX_LENGTH = 64


def written_hash(raw: bytes) -> str | None:
    """The hash ``raw`` carries when it is the SHA-256 of ``raw`` itself with that hash member cut out.

    An event is written as canonical JSON, so its bytes are the bytes its hash was computed over with the
    ``"hash"`` member put in. When cutting that member out gives back bytes whose SHA-256 is the hash, those
    are the canonical bytes it was computed over (no other text with that hash is to be found), so the
    document ``raw`` holds is intact (``intact``) and need not be read and written out again to tell.
    None does not say the document is altered, only that this did not show it intact (a document written
    in another form, an altered one, one without a hash): ``intact`` of the document read decides.

    Only a match counts, and a match cannot come from a cut at another place: canonical bytes hold no
    top-level ``hash`` member, and the member put anywhere but between the top-level members of those bytes
    makes no JSON, or JSON whose hash is not at the top (``written_link`` reads it from there)."""
    start = raw.find(_HASH_MEMBER)
    if start < 0:
        return None
    value_start = start + len(_HASH_MEMBER)
    value_end = value_start + _HASH_HEX_LENGTH
    if raw[value_end : value_end + 1] != b'"':
        return None
    carried = raw[value_start:value_end].decode("ascii", errors="replace")
    if hashlib.sha256(raw[:start] + raw[value_end + 1 :]).hexdigest() != carried:
        return None
    return carried


class Link(NamedTuple):
    """Where an event stands in its chain, as its document says."""

    chain: str
    seq: int
    prev_hash: str
    hash: str


def _link_decoder(key: str) -> msgspec.json.Decoder[Any]:
    """Reads the chain's fields of a document (``key``: the field naming the chain), skipping the rest."""
    fields = [(key, str), ("seq", int), ("prev_hash", str), ("hash", str)]
    return msgspec.json.Decoder(msgspec.defstruct("WrittenLink", fields, array_like=False))


def written_link(raw: bytes, decoder: msgspec.json.Decoder[Any], key: str) -> Link | None:
    """The link ``raw`` is, when it shows itself intact (``written_hash``) and its chain's fields are
    strings and an integer seq as a document read in full would give them; None otherwise."""
    try:
        fields = decoder.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if written_hash(raw) != fields.hash:
        return None
    return Link(getattr(fields, key), fields.seq, fields.prev_hash, fields.hash)


@dataclass(frozen=True)
class ChainBreak:
    """The first link at which a chain fails, and why."""

    case_id: str
    seq: int | None
    event_id: str | None
    reason: str
    fault: Fault = Fault.FORK


class ChainVerifier:
    """Checks chains link by link, in log order, with ``chain_step``; remembers every hash of each chain
    (so a late copy of any earlier link is known for the duplicate it is).

    Feed it raw documents (parsed JSON, not upcast). It records only the first break per chain, because
    every later link of a broken chain is unverifiable anyway. ``key`` and ``ident`` name the field that
    identifies a chain and a link: a case's events by default, ``stream`` and ``notice_id`` for notices.
    """

    def __init__(self, key: str = "case_id", ident: str = "event_id", noun: str = "event") -> None:
        self._key = key
        self._ident = ident
        self._noun = noun
        self._links = _link_decoder(key)
        self._hashes: dict[str, list[str]] = {}
        self.breaks: dict[str, ChainBreak] = {}
        self.events_checked = 0
        self.duplicates = 0
        self._cases_elsewhere = 0

    def feed(self, document: Mapping[str, Any], *, plain: bool = False) -> ChainBreak | None:
        """Check one document; return the chain's break if this document is where it breaks. ``plain`` as
        for ``intact``."""
        self.events_checked += 1
        chain = str(document.get(self._key))
        if chain in self.breaks:
            return None
        seq = document.get("seq")
        hashes = self._hashes.setdefault(chain, [])
        try:
            step = self._step(document, seq, hashes, plain)
        except ChainFault as exc:
            found = ChainBreak(
                chain,
                seq if isinstance(seq, int) else None,
                document.get(self._ident),
                exc.reason,
                exc.fault,
            )
            self.breaks[chain] = found
            return found
        if step is Step.APPLY:
            hashes.append(str(document["hash"]))
        else:
            self.duplicates += 1
        return None

    def feed_written(self, raw: bytes) -> bool:
        """``feed`` of a record's bytes as written, without reading the whole document, when they show
        themselves intact (``written_link``) and the link goes on its chain or repeats a link of it. False
        (nothing counted) otherwise: ``feed`` the document read from them, which finds any fault."""
        link = written_link(raw, self._links, self._key)
        if link is None or link.chain in self.breaks:
            return False
        hashes = self._hashes.get(link.chain, [])
        try:
            step = step_against(hashes, link.seq, link.prev_hash, link.hash)
        except ChainFault:
            return False
        self.events_checked += 1
        if step is Step.APPLY:
            hashes.append(link.hash)
            self._hashes.setdefault(link.chain, hashes)
        else:
            self.duplicates += 1
        return True

    def _step(self, document: Mapping[str, Any], seq: Any, hashes: list[str], plain: bool) -> Step:
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise ChainFault(Fault.UNREADABLE, f"{self._noun} has no integer seq")
        step = step_against(hashes, seq, str(document.get("prev_hash")), str(document.get("hash")))
        if not intact(document, plain=plain):
            raise ChainFault(
                Fault.ALTERED,
                f"hash does not match the {self._noun}'s content (altered after it was written)",
            )
        return step

    def head(self, chain: str) -> Head:
        """The last link applied to ``chain`` (``START`` when none)."""
        hashes = self._hashes.get(chain)
        return Head(len(hashes), hashes[-1]) if hashes else START

    @property
    def cases_checked(self) -> int:
        return len(self._hashes.keys() | self.breaks.keys()) + self._cases_elsewhere

    def absorb(self, *, events: int, cases: int, duplicates: int) -> None:
        """Count chains verified whole by another verifier, over other records (another process's share
        of a log's partitions): their events, cases and duplicates, none of them broken."""
        self.events_checked += events
        self._cases_elsewhere += cases
        self.duplicates += duplicates


def verify_chain(documents: Iterable[Mapping[str, Any]]) -> dict[str, ChainBreak]:
    """Verify raw event documents in log order; return the first break of each broken case."""
    verifier = ChainVerifier()
    for document in documents:
        verifier.feed(document)
    return verifier.breaks
