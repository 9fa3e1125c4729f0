"""A steady load of clues on intake, sent the way a careful client sends them.

Each clue carries its own ``Idempotency-Key``. A request that fails in a way a later one may not (intake
unreachable or cut off mid-answer while it restarts, 502/503/504 while its database or Kafka is away,
429) is sent again with the same key and body after a short backoff, until intake answers; any other
answer is final. A clue answered ``pending`` is asked about once more after its ``Retry-After``, as a
client following up would be, and must come back with the same case.

Every request goes on a connection of its own (``Connection: close``) written with asyncio's streams: a
pooled client (httpx) spent its time matching hundreds of waiting retries against its connections once
intake came back from a kill, and the load stalled.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cluetrail.demo import demo_clues

T = TypeVar("T")

# What may succeed when sent again.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_FIRST = 0.25
BACKOFF_MAX = 2.0
# No request may hang the load, whatever befalls the connection under it: past this it is sent again.
REQUEST_LIMIT_SECONDS = 45.0
FOLLOW_UP_MAX_SECONDS = 5.0

# The communities of 合肥市瑶海区龙岗街道: every clue is in 瑶海区, whose lead office and police are
# recipients of the demo routing, so key cases reach the webhook recorder.
LONGGANG_COMMUNITIES = [f"340102L01{i:03d}" for i in range(1, 11)]


class NoAnswer(Exception):
    """The connection ended before a whole HTTP answer came back."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def post(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> Answer:
    """One POST on a new connection, read to the end; raises OSError or NoAnswer when the connection
    fails, and TimeoutError (from the caller's limit) when nothing comes back."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {len(body)}"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    header, separator, content = raw.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if not separator or len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise NoAnswer(f"{len(raw)} bytes and no whole answer")
    fields = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
    found = {k.strip().lower(): v.strip() for k, v in fields.items()}
    length = found.get("content-length")
    if length is not None and length.isdigit() and len(content) < int(length):
        raise NoAnswer(f"answer cut off after {len(content)} of {length} bytes")
    return Answer(int(parts[1]), found, content)


@dataclass
class Clue:
    """One clue of the load and everything intake answered for it."""

    key: str
    body: bytes
    phase: str
    first_sent: float
    attempts: int = 0
    # Why it had to be sent again, by reason ("ConnectionRefusedError", "HTTP 503", ...).
    retried: Counter[str] = field(default_factory=Counter)
    # Every case id intake answered for this key, follow-ups included: one, or idempotency is broken.
    case_ids: set[str] = field(default_factory=set)
    status: str | None = None
    answered_at: float | None = None
    # A final answer other than 202, or why the client gave up.
    refused: str | None = None

    @property
    def case_id(self) -> str | None:
        return next(iter(self.case_ids)) if len(self.case_ids) == 1 else None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


class ClueLoad:
    """Posts clues to intake from an event loop of its own (a background thread), so the suite's main
    thread can kill and restart things meanwhile."""

    def __init__(self, intake_url: str, *, rate: float, give_up_after: float, seed: int) -> None:
        where = urlsplit(intake_url)
        self._host = where.hostname or "127.0.0.1"
        self._port = where.port or 80
        self._rate = rate
        self._give_up_after = give_up_after
        self._seed = seed
        self.clues: list[Clue] = []
        self._pending: set[asyncio.Task[None]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="clue-load", daemon=True)
        self._generator: asyncio.Task[int] | None = None
        self._stop = threading.Event()

    def _call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on the load's loop and wait for it, in short waits so Ctrl-C gets through."""
        future = asyncio.run_coroutine_threadsafe(work, self._loop)
        while True:
            try:
                return future.result(timeout=0.5)
            except concurrent.futures.TimeoutError:
                continue

    def open(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def start(self, phase: str) -> None:
        """Begin posting ``rate`` clues a second for ``phase`` until ``stop``."""
        self._stop.clear()
        self._call(self._start(phase))

    async def _start(self, phase: str) -> None:
        self._generator = asyncio.create_task(self._generate(phase), name=f"load-{phase}")

    def stop(self) -> int:
        """Stop sending new clues (those already sent keep retrying); returns how many were sent."""
        self._stop.set()
        generator, self._generator = self._generator, None
        if generator is None:
            return 0
        return self._call(self._finished(generator))

    @staticmethod
    async def _finished(generator: asyncio.Task[int]) -> int:
        return await generator

    def drain(self, timeout: float) -> int:
        """Wait until every clue sent is answered or given up; returns how many are still outstanding."""
        return self._call(self._drain(time.monotonic() + timeout))

    async def _drain(self, deadline: float) -> int:
        while self._pending and time.monotonic() < deadline:
            await asyncio.wait(set(self._pending), timeout=max(0.1, deadline - time.monotonic()))
        return len(self._pending)

    def submit(self, document: dict[str, Any], phase: str) -> Clue:
        """Post one clue (retrying like the load does) and return it as soon as intake has answered."""
        return self._call(self._submit_one(document, phase))

    async def _submit_one(self, document: dict[str, Any], phase: str) -> Clue:
        clue = self._new_clue(document, phase)
        await self._send(clue, follow_up=False)
        return clue

    def _new_clue(self, document: dict[str, Any], phase: str) -> Clue:
        clue = Clue(
            key=f"faults-{uuid.uuid4()}",
            body=json.dumps(document, ensure_ascii=False).encode(),
            phase=phase,
            first_sent=time.monotonic(),
        )
        self.clues.append(clue)
        return clue

    async def _generate(self, phase: str) -> int:
        batch: list[dict[str, Any]] = []
        began = time.monotonic()
        sent = 0
        while not self._stop.is_set():
            due = int((time.monotonic() - began) * self._rate) + 1
            while sent < due:
                if not batch:
                    self._seed += 1
                    batch = demo_clues(500, seed=self._seed, jurisdictions=LONGGANG_COMMUNITIES)
                clue = self._new_clue(batch.pop(), phase)
                task = asyncio.create_task(self._send(clue))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)
                sent += 1
            await asyncio.sleep(max(0.0, began + sent / self._rate - time.monotonic()))
        return sent

    async def _post(self, clue: Clue, headers: dict[str, str]) -> Answer:
        return await asyncio.wait_for(
            post(self._host, self._port, "/v1/clues", clue.body, headers), REQUEST_LIMIT_SECONDS
        )

    async def _send(self, clue: Clue, *, follow_up: bool = True) -> None:
        headers = {"Idempotency-Key": clue.key, "Content-Type": "application/json"}
        delay = BACKOFF_FIRST
        while True:
            clue.attempts += 1
            reason: str
            try:
                response = await self._post(clue, headers)
            except (OSError, NoAnswer) as exc:
                reason = type(exc).__name__
            except TimeoutError:
                reason = f"no answer in {REQUEST_LIMIT_SECONDS:g} s"
            else:
                if response.status == 202:
                    answer = response.json()
                    clue.case_ids.add(str(answer["case_id"]))
                    clue.status = str(answer["status"])
                    clue.answered_at = time.monotonic()
                    if clue.status == "pending" and follow_up:
                        await self._follow_up(clue, headers, response)
                    return
                if response.status not in RETRY_STATUSES:
                    text = response.body[:300].decode(errors="replace")
                    clue.refused = f"HTTP {response.status}: {text}"
                    return
                reason = f"HTTP {response.status}"
            clue.retried[reason] += 1
            if time.monotonic() - clue.first_sent > self._give_up_after:
                clue.refused = f"gave up after {clue.attempts} attempts (last: {reason})"
                return
            await asyncio.sleep(delay)
            delay = min(BACKOFF_MAX, delay * 2)

    async def _follow_up(self, clue: Clue, headers: dict[str, str], pending: Answer) -> None:
        """Ask once more about a pending clue: the same key must give the same case."""
        try:
            wait = float(pending.headers.get("retry-after", FOLLOW_UP_MAX_SECONDS))
        except ValueError:
            wait = FOLLOW_UP_MAX_SECONDS
        await asyncio.sleep(min(wait, FOLLOW_UP_MAX_SECONDS))
        try:
            response = await self._post(clue, headers)
        except (OSError, NoAnswer, TimeoutError):
            return
        if response.status == 202:
            clue.case_ids.add(str(response.json()["case_id"]))
