"""The notice publisher, run by the delivery worker: notify's recorded notices go to the notices topic in
the order they were recorded, keyed by stream, so each stream's chain reaches the topic in seq order."""

from __future__ import annotations

import asyncpg
from faststream.kafka import KafkaBroker

from cluetrail.kafka import notice_topic
from cluetrail.settings import CommonSettings
from services.notify.adapters import notices


class NoticePublisher:
    """Publishes recorded notices; ``publish()`` once (the worker repeats it)."""

    def __init__(self, *, pool: asyncpg.Pool, broker: KafkaBroker, settings: CommonSettings) -> None:
        self._pool = pool
        self._broker = broker
        self._settings = settings

    async def publish(self) -> int:
        """Publish the notices not yet on the topic, oldest first; how many were published (0 also while
        another instance publishes)."""
        async with self._pool.acquire() as conn, conn.transaction():
            # One publisher at a time keeps each stream's notices in seq order on the topic.
            if not await notices.take_publisher_lock(conn):
                return 0
            rows = await notices.claim_unpublished_notices(conn)
            for row in rows:
                await self._broker.publish(
                    bytes(row["document"]),
                    topic=notice_topic(self._settings),
                    key=row["stream"].encode(),
                    headers={"notice-kind": row["kind"]},
                )
            if rows:
                await notices.mark_notices_published(conn, [r["id"] for r in rows])
        return len(rows)
