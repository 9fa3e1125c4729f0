"""Notify's background loops: a step that keeps failing is retried, and the outage is logged when it begins
and when it ends, never on every retry; a step that finds work is taken again at once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from cluetrail.logs import Outage
from services.notify.entrypoints.background.loops import repeat


async def test_the_senders_log_a_database_outage_once_when_it_begins_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopping = asyncio.Event()
    taken: list[str] = []

    async def send_one() -> bool:
        taken.append("try")
        if len(taken) <= 3:
            raise ConnectionRefusedError("PostgreSQL does not answer")
        if len(taken) == 4:
            return True  # a delivery was sent: look for the next one at once
        stopping.set()
        return False

    async def rest() -> float:
        return 0.0

    with caplog.at_level(logging.WARNING):
        await repeat(
            send_one,
            wakeup=asyncio.Event(),
            stopping=stopping,
            outage=Outage(logging.getLogger("services.notify"), "sending notify's deliveries"),
            rest=rest,
            retry_seconds=0.0,
        )
    messages = [r.getMessage() for r in caplog.records]
    assert len(taken) == 5
    assert len(messages) == 2
    assert messages[0] == (
        "sending notify's deliveries failed (ConnectionRefusedError: PostgreSQL does not answer); "
        "retrying, and logging again once it works"
    )
    assert messages[1].startswith("sending notify's deliveries works again after ")
    assert messages[1].endswith("(3 failed attempts)")
