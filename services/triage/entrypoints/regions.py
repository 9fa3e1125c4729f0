"""Cases across regions (docs/regions.md): triage's importer reads every other region's case topic as
MirrorMaker 2 replicates it into this cluster (``<peer>.<prefix>.case-events``), one exactly-once consumer
per peer (``triage-import-<peer>``), and keeps this region's log holding the whole chain of every case it
has been handed:

- a case this region does not hold: where it begins (its seq 1) is remembered; when its
  ``handoff-requested`` names a district of this region, the case is read from there, its whole chain is
  verified from seq 1, and byte-identical copies of its events are appended to this region's log;
- a case this region holds: the peer's next event is appended the same way — only from the region that
  writes the case (``domain.regions``); a copy of an event already held (this region's own, coming back)
  is skipped; anything else (a fork, a gap, another region writing) is refused and dead-lettered.

Copies are folded into the case at once and queued in triage's outbox with their bytes as written and the
``origin-region`` header, in the transaction that stores the importer's position; when they come back from
this region's log, triage's own subscriber skips them as copies already folded. If the handed-in case now
calls for a reaction here (a returned case is this region's to write again), it is decided as a live one.
"""

from __future__ import annotations

import logging

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaRouter

from cluetrail.consume import Rejected, RetryLater, decode_record
from cluetrail.outbox import add_copies_to_outbox, add_to_outbox
from cluetrail.service import Runtime, case_events_router, topic_consumer
from contracts.chain import ChainVerifier
from contracts.envelope import Envelope
from contracts.events import HandoffRequested
from contracts.regions import ImportFault, importer_name
from services.triage.adapters import cases, peer_cases
from services.triage.domain.errors import OutOfChain
from services.triage.domain.fold import fold
from services.triage.domain.regions import writer_region
from services.triage.domain.state import CaseState
from services.triage.entrypoints.consumers import CaseStream

log = logging.getLogger(__name__)


class PeerImporter:
    """Appends to this region's log the events of the cases other regions hand it (see above)."""

    def __init__(self, rt: Runtime, stream: CaseStream, peer: str) -> None:
        self._rt = rt
        self._stream = stream
        self.peer = peer
        self.region = stream.policy.region
        self.regions = stream.policy.regions
        self.topic = rt.settings.peer_topic(peer, rt.settings.case_topic)
        self.consumer = topic_consumer(rt, importer_name(peer), self.topic, self.apply)

    def router(self) -> KafkaRouter:
        """The subscriber of ``triage-import-<peer>``: after the catch-up, like triage's own; commits wake the
        relay that publishes the copies."""
        return case_events_router(
            self._rt,
            self.consumer,
            before=self._stream.wait_caught_up,
            after=lambda _: self._stream.relay.wake(),
        )

    async def apply(self, conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]) -> None:
        incoming = decode_record(record)
        event, raw = incoming.event, record.value or b""
        state = await cases.load(conn, event.case_id, for_update=True)
        if state is not None:
            await self._continue(conn, state, event, raw)
        elif event.seq == 1:
            await peer_cases.remember(conn, self.peer, event.case_id, record.partition, record.offset)
        elif isinstance(event, HandoffRequested) and self._to_here(event):
            await self._import(conn, event, record)

    def _to_here(self, event: HandoffRequested) -> bool:
        return self.regions.region_of(event.payload.to_jurisdiction) == self.region

    async def _continue(
        self, conn: asyncpg.Connection, state: CaseState, event: Envelope, raw: bytes
    ) -> None:
        """The peer's event of a case this region holds: a copy already held is skipped; the next event,
        from the region writing the case, is appended; anything else is refused."""
        try:
            folded = fold(state, event)
        except OutOfChain as exc:
            what = f"chain {exc.fault.value}" if exc.fault is not None else "out of chain"
            raise Rejected(
                f"{what}: {exc} ({event.type}, {event.event_id}, from region {self.peer}): refused, the "
                "chain this region holds stands",
                details=refusal(ImportFault.of(exc.fault), state),
            ) from exc
        if folded is state:
            return  # this region's own event coming back, or a copy already held
        writer = writer_region(state, self.regions)
        if writer != self.peer:
            raise Rejected(
                f"case {event.case_id} seq {event.seq} ({event.type}, {event.event_id}) comes from region "
                f"{self.peer}, but region {writer} writes this case: a second writer forked its chain",
                details=refusal(ImportFault.SECOND_WRITER, state),
            )
        await self._append(conn, folded, [(event, raw)])

    async def _import(
        self, conn: asyncpg.Connection, offer: HandoffRequested, at: ConsumerRecord[bytes, bytes]
    ) -> None:
        """A case handed to this region: read it from seq 1, verify the whole chain, append it."""
        start = await peer_cases.start_of(conn, self.peer, offer.case_id)
        if start is None:
            raise Rejected(
                f"case {offer.case_id} is handed to this region, but its seq 1 was never seen in "
                f"{self.topic}",
                details=refusal(ImportFault.REFUSED),
            )
        partition, first = start
        if partition != at.partition:
            raise Rejected(
                f"case {offer.case_id}: its records are in two partitions of {self.topic}",
                details=refusal(ImportFault.REFUSED),
            )
        try:
            earlier = await peer_cases.read_case(
                self._rt.settings, self.topic, partition, first, at.offset, offer.case_id
            )
        except (LookupError, OSError) as exc:
            raise RetryLater(f"reading case {offer.case_id} from {self.topic}: {exc}") from exc
        records = [*earlier, at]
        verifier = ChainVerifier()
        copies: list[tuple[Envelope, bytes]] = []
        for record in records:
            incoming = decode_record(record)
            duplicates = verifier.duplicates
            found = verifier.feed(incoming.document)
            if found is not None:
                raise Rejected(
                    f"case {offer.case_id} handed from region {self.peer} does not verify at seq {found.seq} "
                    f"(event {found.event_id}): {found.reason}; not imported",
                    details=refusal(ImportFault.of(found.fault)),
                )
            if verifier.duplicates == duplicates:  # a copy the peer's log holds twice is taken once
                copies.append((incoming.event, record.value or b""))
        if [e.seq for e, _ in copies] != list(range(1, offer.seq + 1)):
            raise Rejected(
                f"case {offer.case_id} handed from region {self.peer}: its events "
                f"{[e.seq for e, _ in copies]} do not run from seq 1 to the offer's seq {offer.seq}",
                details=refusal(ImportFault.GAP),
            )
        state: CaseState | None = None
        for event, _ in copies:
            state = fold(state, event)
        assert state is not None
        log.info(
            "case %s handed in from region %s: %d events imported", offer.case_id, self.peer, len(copies)
        )
        await self._append(conn, state, copies)

    async def _append(
        self, conn: asyncpg.Connection, state: CaseState, copies: list[tuple[Envelope, bytes]]
    ) -> None:
        """Store the case with its new copies and queue them (bytes as written, origin header); then, if the
        case is this region's to write now, decide what it calls for."""
        await cases.save(conn, state, [e for e, _ in copies], [raw for _, raw in copies])
        await add_copies_to_outbox(conn, copies, self.peer)
        if self._stream.writes(state):
            after, decided = self._stream.advance_reactions(state, causation_id=copies[-1][0].event_id)
            if decided:
                await cases.save(conn, after, decided)
                await add_to_outbox(conn, decided)


def importers(rt: Runtime, stream: CaseStream) -> list[PeerImporter]:
    """One importer per other region of the deployment (none in a deployment of one region)."""
    return [PeerImporter(rt, stream, peer) for peer in stream.policy.regions.peers_of(stream.policy.region)]


def refusal(fault: ImportFault, state: CaseState | None = None) -> dict[str, str]:
    """A refused peer event's dead-letter details: the fault, and where the case stands in this region when
    it holds the case (notify alerts that place's lead office)."""
    details = {"fault": fault.value}
    if state is not None:
        details["case_jurisdiction"] = state.jurisdiction
    return details
