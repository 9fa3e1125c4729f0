"""What notify's background loops share: wake-ups, a pause a wake-up or shutdown cuts short, a step that is
finished rather than abandoned at shutdown, and the loop that repeats a step."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from cluetrail.logs import Outage


class Wakeups:
    """The wake-ups of a set of loops: one event per loop, so a loop clearing its own event can never
    swallow another loop's wake-up."""

    def __init__(self) -> None:
        self._events: list[asyncio.Event] = []

    def new(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.append(event)
        return event

    def wake(self) -> None:
        for event in self._events:
            event.set()


async def finish(work: Awaitable[object]) -> bool:
    """Await ``work`` even if the task is cancelled meanwhile (clean shutdown), then re-raise."""
    task = asyncio.ensure_future(work)
    try:
        return bool(await asyncio.shield(task))
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


async def idle(wakeup: asyncio.Event, stopping: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or until woken or stopping."""
    waiters = [asyncio.ensure_future(wakeup.wait()), asyncio.ensure_future(stopping.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def repeat(
    step: Callable[[], Awaitable[object]],
    *,
    wakeup: asyncio.Event,
    stopping: asyncio.Event,
    outage: Outage,
    rest: Callable[[], Awaitable[float]],
    retry_seconds: float,
) -> None:
    """Take ``step`` until ``stopping`` is set: again at once while it finds something to do, else after
    ``rest()`` seconds or a wake-up. A failing step (or ``rest``) is retried after ``retry_seconds``; the
    outage is logged when it begins and when it ends."""
    while not stopping.is_set():
        # Clear before looking, so a wake-up after the look is not lost.
        wakeup.clear()
        try:
            if await finish(step()):
                outage.recovered()
                continue
            seconds = await rest()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            outage.failed(exc)
            seconds = retry_seconds
        else:
            outage.recovered()
        await idle(wakeup, stopping, seconds)
