"""The anchorer (docs/regions.md, "Audit across regions"): every few seconds
(``CLUETRAIL_TRIAGE_ANCHOR_SECONDS``), when heads moved, one anchor of this region's chain naming them.

A head is the last event of a case this region wrote — a record of its own case log without the
``origin-region`` header — noted by triage's subscriber as it reads it back from that log
(``CaseStream.apply``), so an anchor never names an event the log does not hold. The anchor is sealed onto
the last one and stored with the heads it marks anchored in one transaction; the anchors relay
(``cluetrail.outbox``) publishes it to ``<prefix>.anchors`` afterwards, so a crash anywhere repeats nothing
but identical bytes.

A database that is new, rebuilt or restored from a backup first reads its region's anchors topic back from
where it last stood (``read_back``), so its chain continues where the topic's ends instead of forking it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from cluetrail.kafka import anchor_topic, read_log
from cluetrail.logs import Outage
from cluetrail.outbox import OutboxRelay
from cluetrail.service import Runtime
from contracts.anchors import MAX_HEADS, Anchor, seal_anchor
from services.triage.adapters import anchors, meta

log = logging.getLogger(__name__)


class Anchorer:
    """Anchors this region's moved heads (``anchor()`` once; ``run`` repeats it until shutdown)."""

    def __init__(self, rt: Runtime, relay: OutboxRelay, every: float) -> None:
        self._rt = rt
        self._relay = relay
        self._every = every
        self.region = rt.settings.region
        self._outage = Outage(log, "anchoring chain heads")
        self._read_back = False

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                if not self._read_back:
                    await self.read_back()
                    self._read_back = True
                if await self.anchor() is not None:
                    self._relay.wake()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._outage.failed(exc)
            else:
                self._outage.recovered()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self._every)

    async def anchor(self) -> Anchor | None:
        """Seal the heads that moved since the last anchor (at most ``MAX_HEADS``) as the chain's next
        anchor, stored for the relay; None when none moved."""
        async with self._rt.pool.acquire() as conn, conn.transaction():
            await anchors.lock(conn)
            heads = await anchors.moved_heads(conn, MAX_HEADS)
            if not heads:
                return None
            last = await anchors.last(conn)
            anchor = seal_anchor(region=self.region, seq=last.seq + 1, prev_hash=last.hash, heads=heads)
            await anchors.append(conn, anchor)
        return anchor

    async def read_back(self) -> int:
        """Take the anchors this database does not hold back from the region's anchors topic; how many."""
        topic = anchor_topic(self._rt.settings)
        async with self._rt.pool.acquire() as conn:
            stored = await meta.get(conn, anchors.READ_BACK)
        start = {int(p): int(o) for p, o in stored.items()} if isinstance(stored, dict) else {}
        taken = 0
        async for records, _ in read_log(self._rt.settings, topic, start=start):
            async with self._rt.pool.acquire() as conn, conn.transaction():
                await anchors.lock(conn)
                reached = dict(start)
                for record in records:
                    reached[record.partition] = max(reached.get(record.partition, 0), record.offset + 1)
                    taken += await self._take(conn, record.value or b"")
                await meta.put(conn, anchors.READ_BACK, {str(p): o for p, o in reached.items()})
                start = reached
        if taken:
            log.info("read %d anchors back from %s", taken, topic)
        return taken

    async def _take(self, conn: asyncpg.Connection, raw: bytes) -> int:
        try:
            anchor = Anchor.model_validate_json(raw)
        except ValueError:
            log.warning("a record of the anchors topic is not an anchor; left out of the read-back")
            return 0
        if anchor.region != self.region:
            log.warning("the anchors topic holds an anchor of region %s; left out", anchor.region)
            return 0
        forked = await anchors.read_back(conn, anchor, raw)
        if forked is not None:
            log.error(
                "anchor %d of region %s is %s in the anchors topic but %s in this database: the anchor "
                "chain forked (a database restored behind the topic?)",
                anchor.seq,
                self.region,
                anchor.hash,
                forked,
            )
        return 1
