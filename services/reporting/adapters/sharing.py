"""Work on a topic split between processes of their own, one per share of its partitions (the build's
first pass, ``shares``).

Reading, decoding and hashing each record keeps a core busy in Python; a share per core lets the
machine's cores do it side by side. A share is ``python -m <module>``, not a fork: the process that starts
it runs an event loop, database sessions and Kafka clients, none of which a forked child could use, and a
fresh interpreter imports only what the share needs. Its job comes pickled on its standard input; it
answers in JSON lines: ``["read", n]`` after each batch, then one ``[end, value]`` (``done`` with its
result, or why not).
"""

from __future__ import annotations

import asyncio
import json
import pickle
import sys
from asyncio.subprocess import PIPE, Process
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# The longest line a share writes (its result).
MESSAGE_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class PartitionShare:
    """Share ``index`` of ``count`` of a topic's partitions: those whose number leaves ``index`` divided by
    ``count``. A share knows its partitions without anyone reading the topic first, so it can start on
    them at once."""

    index: int
    count: int

    def __contains__(self, partition: object) -> bool:
        return isinstance(partition, int) and partition % self.count == self.index


def partition_shares(count: int) -> list[PartitionShare]:
    """A topic's partitions dealt into ``count`` shares."""
    return [PartitionShare(index, count) for index in range(count)]


class Shares:
    """``count`` processes of ``python -m module``, started before their jobs are known: each imports what
    it needs (a good part of a share's start) while the caller works out the jobs (``run``). A process
    given no job exits without a word; any still running when the block ends is killed."""

    def __init__(self, module: str, count: int) -> None:
        self._module = module
        self._count = count
        self._processes: list[Process] = []

    async def __aenter__(self) -> Shares:
        for _ in range(self._count):
            self._processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", self._module, stdin=PIPE, stdout=PIPE, limit=MESSAGE_LIMIT
                )
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        for process in self._processes:
            if process.stdin is not None and not process.stdin.is_closing():
                process.stdin.close()  # no job: it ends at once
        for process in self._processes:
            if process.returncode is None and exc != (None, None, None):
                process.kill()
            await process.wait()

    async def run(self, jobs: list[Any], advance: Callable[[int], None]) -> list[tuple[str, Any]]:
        """Give each job to a process of its own and follow each to its end: (``done``, its result) or the
        reason it gave (``failed``, or what ``serve_share`` was told to call a refusal). ``advance`` is
        told of every batch the shares read."""
        if len(jobs) > len(self._processes):
            raise ValueError(f"{len(jobs)} jobs for {len(self._processes)} processes")
        working = self._processes[: len(jobs)]
        try:
            for process, job in zip(working, jobs, strict=True):
                assert process.stdin is not None
                process.stdin.write(pickle.dumps(job))
                await process.stdin.drain()
                process.stdin.close()
            return list(await asyncio.gather(*(_end(process, advance) for process in working)))
        finally:
            for process in working:
                if process.returncode is None:
                    process.kill()
                await process.wait()


async def _end(process: Process, advance: Callable[[int], None]) -> tuple[str, Any]:
    assert process.stdout is not None
    async for line in process.stdout:
        kind, value = json.loads(line)
        if kind == "read":
            advance(value)
        else:
            return kind, value
    return "failed", f"it exited ({await process.wait()}) without saying how it ended"


def _say(kind: str, value: Any) -> None:
    sys.stdout.write(json.dumps([kind, value]) + "\n")
    sys.stdout.flush()


def serve_share(
    work: Callable[[Any, Callable[[int], None]], Awaitable[Any]],
    refusals: tuple[type[BaseException], ...] = (),
    refused: str = "refused",
) -> None:
    """A share's process: run ``work`` on the job from standard input (telling it how to report each batch
    read) and say how it ended; an exception of ``refusals`` ends it as ``refused``, any other as
    ``failed``."""
    given = sys.stdin.buffer.read()
    if not given:  # started ahead of a job that never came (``Shares``)
        return
    job = pickle.loads(given)
    try:
        result = asyncio.run(_awaited(work(job, lambda records: _say("read", records))))
    except refusals as exc:
        _say(refused, str(exc))
    except Exception as exc:
        _say("failed", f"{type(exc).__name__}: {exc}")
    else:
        _say("done", result)


async def _awaited(work: Awaitable[Any]) -> Any:
    return await work
