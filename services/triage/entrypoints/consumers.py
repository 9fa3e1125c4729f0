"""Triage's consumption of the case log (consumer group ``triage``): fold every event, decide reactions.

Each record is applied with the case row held ``FOR UPDATE``, in the consumer's transaction (with its
position), and the events triage decides go to the outbox in that same transaction:

- a copy of an event triage already holds at that seq (``contracts.chain``: the same hash) — its own decision
  coming back from the log, or a duplicate, however late: skipped. Another hash at that seq, or a next event
  naming another predecessor: a second writer forked the chain — dead letter.
- ``seq == last_seq + 1`` and ``prev_hash == last_hash``: folded; then the reactions the new state calls for
  are sealed (seq continuing the chain, causation = the event read, correlation = the case's, traceparent of
  the consumer's span, which continues the trace of the record) and folded too.
- anything else: ``Rejected`` with the reason (dead letter); the stream moves on.

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
from datetime import datetime

import asyncpg
from faststream.kafka import KafkaRouter

from cluetrail.consume import Incoming, Rejected
from cluetrail.kafka import ORIGIN_REGION_HEADER, read_log
from cluetrail.outbox import OutboxRelay, add_to_outbox
from cluetrail.service import Runtime, case_events_router, exactly_once_consumer
from cluetrail.telemetry import context_from_traceparent, current_traceparent
from contracts.envelope import Envelope
from contracts.events import ClueReported
from contracts.jurisdictions import JurisdictionRegistry
from contracts.vocabulary import MatchBasis
from services.triage.adapters import anchors, cases, meta, subjects
from services.triage.domain.chain import advance, react
from services.triage.domain.decisions import SERVICE_ACTOR, Decision, district_of
from services.triage.domain.dedup import subject_keys
from services.triage.domain.errors import OutOfChain
from services.triage.domain.fold import fold
from services.triage.domain.grading import RuleSet
from services.triage.domain.regions import writer_region
from services.triage.domain.state import CaseState
from services.triage.domain.workflow import WorkflowPolicy, link_clue, merged_decision

log = logging.getLogger(__name__)
GROUP = "triage"
# A clue linked to the case on file: that case after ``clue-linked``, its new events, and the match basis.
Linked = tuple[CaseState, list[Envelope], MatchBasis]


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
        self.deciding = False
        self.caught_up = asyncio.Event()
        self.consumer = exactly_once_consumer(rt, GROUP, self.apply)

    def router(self) -> KafkaRouter:
        """The subscriber of group ``triage``: batches wait for the catch-up, commits wake the relay."""
        return case_events_router(
            self._rt, self.consumer, before=self.wait_caught_up, after=lambda _: self.relay.wake()
        )

    async def apply(self, conn: asyncpg.Connection, incoming: Incoming) -> None:
        """Fold one event into its case and, once caught up, decide what the new state calls for."""
        event = incoming.event
        state = await cases.load(conn, event.case_id, for_update=True)
        try:
            folded = fold(state, event)
        except OutOfChain as exc:
            raise Rejected(f"{exc} ({event.type}, {event.event_id})") from exc
        if written_here(incoming):
            await anchors.note_head(conn, event.case_id, event.seq, event.hash)
        if folded is state:
            return  # triage's own event back from the log, or a copy of one folded before
        decided: list[Envelope] = []
        linked: Linked | None = None
        deciding = self.deciding and self.writes(folded)
        if isinstance(event, ClueReported):
            keys = await self._file_subject(conn, folded, event.recorded_at)
            if deciding:
                linked = await self._link(conn, folded, keys, causation_id=event.event_id)
        if deciding:
            merge = [] if linked is None else [merged_decision(linked[0], linked[2])]
            folded, decided = self._advance(folded, merge, causation_id=event.event_id)
        await cases.save(conn, folded, [event, *decided])
        if decided:
            await add_to_outbox(conn, decided)
        await _save_linked(conn, linked)

    def writes(self, state: CaseState) -> bool:
        """Whether this region writes the case's next events (``domain.regions``); another region's case
        is folded here, never decided on."""
        return writer_region(state, self.policy.regions) == self.policy.region

    def advance_reactions(
        self, state: CaseState, *, causation_id: uuid.UUID
    ) -> tuple[CaseState, list[Envelope]]:
        """The reactions the state calls for (e.g. a case handed back to this region), traced."""
        return self._advance(state, [], causation_id=causation_id)

    def _advance(
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

    async def _file_subject(
        self, conn: asyncpg.Connection, clue: CaseState, reported_at: datetime
    ) -> list[tuple[str, MatchBasis]]:
        """Put the clue's subject on file (a key stays with the case that reported it first); its keys, in
        the order they are matched."""
        keys = subject_keys(clue.clue, district_of(clue.jurisdiction, self.registry))
        if keys:
            await subjects.put_on_file(conn, [k for k, _ in keys], clue.case_id, reported_at)
        return keys

    async def _link(
        self,
        conn: asyncpg.Connection,
        clue: CaseState,
        keys: list[tuple[str, MatchBasis]],
        *,
        causation_id: uuid.UUID,
    ) -> Linked | None:
        """When the clue's subject is on file as another case, link the clue to it: that case gets
        ``clue-linked`` (reopened first if it was closed or written off). The clue's own ``merged`` is the
        caller's to decide, from the returned case and basis."""
        found = await subjects.case_on_file(conn, [k for k, _ in keys], other_than=clue.case_id)
        if found is None:
            return None
        on_file, key = found
        basis = dict(keys)[key]
        target = await cases.load(conn, on_file, for_update=True)
        if target is not None and target.merged_into is not None:
            target = await cases.load(conn, target.merged_into, for_update=True)
        if target is None or target.case_id == clue.case_id or not self.writes(target):
            return None
        after, events = self._advance(
            target, link_clue(target, clue, SERVICE_ACTOR, basis), causation_id=causation_id
        )
        return after, events, basis

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
            for case_id in await cases.open_case_ids(conn):
                state = await cases.load(conn, case_id, for_update=True)
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
                        keys = subject_keys(state.clue, district_of(state.jurisdiction, self.registry))
                        linked = await self._link(conn, state, keys, causation_id=state.last_event_id)
                    merge = [] if linked is None else [merged_decision(linked[0], linked[2])]
                    state, events = self._advance(state, merge, causation_id=state.last_event_id)
                await cases.save(conn, state, events)
                await add_to_outbox(conn, events)
                decided += len(events) + await _save_linked(conn, linked)
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
    return all(key != ORIGIN_REGION_HEADER for key, _ in incoming.record.headers or ())


async def _save_linked(conn: asyncpg.Connection, linked: Linked | None) -> int:
    """Store the case a clue was linked to and queue its new events (if the clue was linked); how many."""
    if linked is None:
        return 0
    target, more, _ = linked
    await cases.save(conn, target, more)
    await add_to_outbox(conn, more)
    return len(more)
