"""Triage's consumption of the case log (consumer group ``triage``): fold every event, decide reactions.

Each record is applied with the case row held ``FOR UPDATE``, in the consumer's transaction (with its
position), and the events triage decides go to the outbox in that same transaction:

- a copy of an event triage already holds at that seq (``contracts.chain``: the same hash) — its own decision
  coming back from the log, or a duplicate, however late: skipped. Another hash at that seq, or a next event
  naming another predecessor: a second writer forked the chain — dead letter.
- ``seq == last_seq + 1`` and ``prev_hash == last_hash``: folded; then the reactions the new state calls for
  are sealed (seq continuing the chain, causation = the event read, correlation = the case's, traceparent of
  a ``triage decide`` span in the trace of the record) and folded too.
- anything else: ``Rejected`` with the reason (dead letter); the stream moves on.

A batch is applied as a whole (``apply_batch``): its cases are loaded and locked in one statement, in case id
order, each record is applied in turn in memory as it would be alone, and what they did is written with one
statement per table (``adapters.case_store``). A batch that fails — a record rejected, a subject key another
transaction filed meanwhile — is rolled back and applied again record by record (``apply``), each record in a
savepoint, so a rejected record is dead-lettered alone and the rest of the batch applied.

An event of the chain that this region wrote (no ``origin-region`` header) is, as read back here, the case's
head for this region's chain-head anchors (``entrypoints.background.anchors``): the log holds it.

No double decision, also after a rebuild. Reactions are a function of the state, and every event in the log —
triage's own included — advances the state, so a reaction whose event is already in the log is never decided
again *provided the state includes everything in the log for that case*. In steady operation it does: triage
is the case's only writer after seq 1, each decision is in the state the moment it is committed (outbox and
state in one transaction), and the log only ever lags behind the state. The one time it does not is a database
that is new or rebuilt while the log already holds triage's events (e.g. seq 1 folded, seq 2 ``assessed``
still ahead in the log): deciding then would write a second seq 2. So a database that has never caught up
first reads the log from offset zero to its end *without deciding* (``catch_up``; the live subscriber waits
meanwhile, and positions keep each record applied once), then decides in one sweep what the fully folded
states still call for — decisions that had been committed to a lost outbox but never reached the log, a clue
never decided on being linked to the case on file like a live one — and records that it has caught up. Only
then do reactions run on live records.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence

import asyncpg
from faststream.kafka import KafkaRouter
from opentelemetry import trace

from cluetrail.consume import Incoming, Rejected
from cluetrail.kafka import ORIGIN_REGION_HEADER, read_log, record_header
from cluetrail.outbox import OutboxRelay
from cluetrail.service import Runtime, case_events_router, exactly_once_consumer
from cluetrail.telemetry import context_from_headers, context_from_traceparent, current_traceparent
from contracts.envelope import Envelope
from contracts.events import ClueReported
from contracts.jurisdictions import JurisdictionRegistry
from contracts.vocabulary import MatchBasis
from services.triage.adapters import cases, meta
from services.triage.adapters.case_store import CaseBatch, CaseStore, CaseTables
from services.triage.domain.chain import advance, react
from services.triage.domain.decisions import SERVICE_ACTOR, Decision, district_of
from services.triage.domain.dedup import subject_keys
from services.triage.domain.errors import OutOfChain
from services.triage.domain.fold import clue_facts, fold
from services.triage.domain.grading import RuleSet
from services.triage.domain.regions import writer_region
from services.triage.domain.state import CaseState
from services.triage.domain.workflow import WorkflowPolicy, link_clue, merged_decision

log = logging.getLogger(__name__)
GROUP = "triage"
# A clue linked to the case on file: that case after ``clue-linked``, its new events, and the match basis.
Linked = tuple[CaseState, list[Envelope], MatchBasis]


class CaseFolder:
    """What triage does with one event of the case log, on whichever ``CaseStore`` holds the cases (record
    by record, or a whole batch at once: ``adapters.case_store``): fold it into its case, put a clue's
    subject on file, and — when deciding — link the clue to a case on file and seal the reactions the new
    state calls for, each under a span in the trace its record carries."""

    def __init__(
        self,
        rules: RuleSet,
        registry: JurisdictionRegistry,
        policy: WorkflowPolicy,
        tracer: trace.Tracer,
    ) -> None:
        self.rules = rules
        self.registry = registry
        self.policy = policy
        self._tracer = tracer

    async def apply(self, store: CaseStore, incoming: Incoming, *, deciding: bool) -> int:
        """Fold one event into its case and, when ``deciding``, decide what the new state calls for; how
        many events that put in the outbox."""
        event = incoming.event
        state = await store.load(event.case_id)
        try:
            folded = fold(state, event)
        except OutOfChain as exc:
            raise Rejected(f"{exc} ({event.type}, {event.event_id})") from exc
        if written_here(incoming):
            await store.note_head(event.case_id, event.seq, event.hash)
        if folded is state:
            return 0  # triage's own event back from the log, or a copy of one folded before
        decided: list[Envelope] = []
        linked: Linked | None = None
        deciding = deciding and self.writes(folded)
        keys = self.subject_keys(folded) if isinstance(event, ClueReported) else []
        if keys:
            await store.put_on_file([k for k, _ in keys], folded.case_id, event.recorded_at)
        if deciding:
            # The events decided carry this span's context: the trace of the record goes on through them.
            with self._tracer.start_as_current_span(
                f"{GROUP} decide after {event.type}",
                context=context_from_headers(incoming.record.headers),
                attributes={"cluetrail.case_id": str(event.case_id), "cluetrail.seq": event.seq},
            ):
                if isinstance(event, ClueReported):
                    linked = await self.link(store, folded, keys, causation_id=event.event_id)
                merge = [] if linked is None else [merged_decision(linked[0], linked[2])]
                folded, decided = self.advance(folded, merge, causation_id=event.event_id)
        await store.save(folded, [event, *decided])
        if decided:
            await store.queue(decided)
        return len(decided) + await save_linked(store, linked)

    async def apply_batch(
        self, conn: asyncpg.Connection, incomings: Sequence[Incoming], *, deciding: bool
    ) -> int:
        """``apply`` of each of a batch's events in turn, in a handful of round trips for the whole batch:
        the cases and subject keys they read read at once, what they did written at once (``CaseBatch``);
        how many events that put in the outbox."""
        case_ids, keys = self.reads(incomings)
        batch = await CaseBatch.open(conn, case_ids, keys, with_holders=deciding)
        queued = 0
        for incoming in incomings:
            queued += await self.apply(batch, incoming, deciding=deciding)
        await batch.write()
        return queued

    def reads(self, incomings: Sequence[Incoming]) -> tuple[list[uuid.UUID], list[str]]:
        """What applying ``incomings`` reads: their cases, and the subject keys of the clues among them."""
        keys: list[str] = []
        for incoming in incomings:
            if isinstance(event := incoming.event, ClueReported):
                district = district_of(event.jurisdiction, self.registry)
                keys += [key for key, _ in subject_keys(clue_facts(event.payload), district)]
        return [incoming.event.case_id for incoming in incomings], keys

    def writes(self, state: CaseState) -> bool:
        """Whether this region writes the case's next events (``domain.regions``); another region's case
        is folded here, never decided on."""
        return writer_region(state, self.policy.regions) == self.policy.region

    def subject_keys(self, clue: CaseState) -> list[tuple[str, MatchBasis]]:
        """The keys the case's clue files its subject under, in the order they are matched."""
        return subject_keys(clue.clue, district_of(clue.jurisdiction, self.registry))

    def advance(
        self, state: CaseState, decisions: Sequence[Decision], *, causation_id: uuid.UUID
    ) -> tuple[CaseState, list[Envelope]]:
        """``domain.chain.advance`` under triage's rules, traced by the current span."""
        return advance(
            state,
            decisions,
            causation_id=causation_id,
            traceparent=current_traceparent(),
            rules=self.rules,
            registry=self.registry,
            policy=self.policy,
        )

    async def link(
        self,
        store: CaseStore,
        clue: CaseState,
        keys: list[tuple[str, MatchBasis]],
        *,
        causation_id: uuid.UUID,
    ) -> Linked | None:
        """When the clue's subject is on file as another case, link the clue to it: that case gets
        ``clue-linked`` (reopened first if it was closed or written off). The clue's own ``merged`` is the
        caller's to decide, from the returned case and basis."""
        found = await store.case_on_file([k for k, _ in keys], other_than=clue.case_id)
        if found is None:
            return None
        on_file, key = found
        basis = dict(keys)[key]
        target = await store.load(on_file)
        if target is not None and target.merged_into is not None:
            target = await store.load(target.merged_into)
        if target is None or target.case_id == clue.case_id or not self.writes(target):
            return None
        after, events = self.advance(
            target, link_clue(target, clue, SERVICE_ACTOR, basis), causation_id=causation_id
        )
        return after, events, basis


class CaseStream:
    """Folds the case log into triage's database and reacts to it, exactly once per record."""

    def __init__(
        self,
        rt: Runtime,
        rules: RuleSet,
        registry: JurisdictionRegistry,
        relay: OutboxRelay,
        policy: WorkflowPolicy | None = None,
    ) -> None:
        self._rt = rt
        self.rules = rules
        self.registry = registry
        self.relay = relay
        self.policy = policy or WorkflowPolicy()
        self.folder = CaseFolder(rules, registry, self.policy, rt.tracer)
        self.deciding = False
        self.caught_up = asyncio.Event()
        # Events the batch being applied put in the outbox: most records triage reads back are its own
        # decisions, whose batches decide nothing and leave the relay nothing to read.
        self._queued = 0
        self.consumer = exactly_once_consumer(rt, GROUP, self.apply, apply_batch=self.apply_batch)

    def router(self) -> KafkaRouter:
        """The subscriber of group ``triage``: batches wait for the catch-up, a commit that queued events
        wakes the relay."""
        return case_events_router(self._rt, self.consumer, before=self.wait_caught_up, after=self._committed)

    def _committed(self, applied: Sequence[Incoming]) -> None:
        if self._queued:
            self._queued = 0
            self.relay.wake()

    async def apply(self, conn: asyncpg.Connection, incoming: Incoming) -> None:
        """Fold one event into its case and, once caught up, decide what the new state calls for: each read
        and write at once (a record applied alone)."""
        self._queued += await self.folder.apply(CaseTables(conn), incoming, deciding=self.deciding)

    async def apply_batch(self, conn: asyncpg.Connection, incomings: Sequence[Incoming]) -> None:
        """``apply`` of a batch's events, in a handful of round trips for the whole batch."""
        self._queued += await self.folder.apply_batch(conn, incomings, deciding=self.deciding)

    def writes(self, state: CaseState) -> bool:
        """Whether this region writes the case's next events (``domain.regions``)."""
        return self.folder.writes(state)

    def advance_reactions(
        self, state: CaseState, *, causation_id: uuid.UUID
    ) -> tuple[CaseState, list[Envelope]]:
        """The reactions the state calls for (e.g. a case handed back to this region), traced."""
        return self.folder.advance(state, [], causation_id=causation_id)

    async def catch_up(self) -> None:
        """Make sure the database holds everything in the log before any reaction is decided (see above)."""
        # Held for the whole catch-up, so a second triage process on the same database waits, then finds
        # the marker, instead of folding the same records beside this one.
        async with self._rt.pool.acquire() as lock:
            await meta.lock_catch_up(lock)
            try:
                if await meta.get(lock, meta.CAUGHT_UP) is None:
                    await self._fold_log_then_sweep()
            finally:
                await meta.unlock_catch_up(lock)
        self.deciding = True
        self.caught_up.set()
        self.relay.wake()

    async def _fold_log_then_sweep(self) -> None:
        self.deciding = False
        folded = 0
        # A catch-up cut short (crash, shutdown) resumes after the records it had applied.
        async for records, end in read_log(self._rt.settings, start=await self._positions()):
            folded += len(await self.consumer.process(records))
            log.info("triage catch-up: %d records folded (log end %d)", folded, end.total)
        decided = await self._sweep()
        log.info("triage caught up with the log: %d records folded, %d events decided", folded, decided)

    async def _positions(self) -> dict[int, int]:
        """The next offset to read per partition of the case topic, from the positions stored with effects."""
        stored = await self.consumer.stored_positions()
        return {
            partition: offset + 1
            for (topic, partition), offset in stored.items()
            if topic == self.consumer.topic
        }

    async def _sweep(self) -> int:
        """Decide, for every open case, what its fully folded state still calls for; then mark caught up."""
        decided = 0
        async with self._rt.pool.acquire() as conn, conn.transaction():
            store = CaseTables(conn)
            for case_id in await cases.open_case_ids(conn):
                state = await store.load(case_id)
                if state is None or not self.writes(state):
                    continue
                # A case at seq 1 holds a clue triage never decided on (its decisions would be in the log):
                # it is linked to a case on file exactly as a live clue would have been.
                unlinked = state.last_seq == 1
                if not unlinked and react(state, self.rules, self.registry, self.policy) is None:
                    continue
                parent = context_from_traceparent(state.clue_traceparent)
                with self._rt.tracer.start_as_current_span("triage catch-up reactions", context=parent):
                    linked = None
                    if unlinked:
                        keys = self.folder.subject_keys(state)
                        linked = await self.folder.link(store, state, keys, causation_id=state.last_event_id)
                    merge = [] if linked is None else [merged_decision(linked[0], linked[2])]
                    state, events = self.folder.advance(state, merge, causation_id=state.last_event_id)
                await store.save(state, events)
                await store.queue(events)
                decided += len(events) + await save_linked(store, linked)
            await meta.put(conn, meta.CAUGHT_UP, {"rule_set": self.rules.version})
        return decided

    async def wait_caught_up(self) -> None:
        """Hold live records until the catch-up is done; at shutdown, give them back (nack) unapplied."""
        stopping = asyncio.ensure_future(self._rt.stopping.wait())
        ready = asyncio.ensure_future(self.caught_up.wait())
        try:
            await asyncio.wait({stopping, ready}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            ready.cancel()
        if not self.caught_up.is_set():
            raise RuntimeError("triage is stopping before it caught up with the log; records are redelivered")


def written_here(incoming: Incoming) -> bool:
    """Whether this region wrote the event: a record of its own case log without the ``origin-region``
    header (a copy of another region's event names that region). Such an event, once read back from the
    log, is the case's head for the anchors (``entrypoints.background.anchors``)."""
    return record_header(incoming.record.headers, ORIGIN_REGION_HEADER) is None


async def save_linked(store: CaseStore, linked: Linked | None) -> int:
    """Store the case a clue was linked to and queue its new events (if the clue was linked); how many."""
    if linked is None:
        return 0
    target, more, _ = linked
    await store.save(target, more)
    await store.queue(more)
    return len(more)
