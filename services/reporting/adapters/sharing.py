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
from typing import Any

from cluetrail.kafka import LogEnd

# The longest line a share writes (its result).
MESSAGE_LIMIT = 1024 * 1024


def partition_shares(end: LogEnd, wanted: int) -> list[list[int]]:
    """The partitions holding records, dealt into at most ``wanted`` shares; none when fewer than two
    shares would have any."""
    partitions = sorted(tp.partition for tp, offset in end.offsets.items() if offset > 0)
    count = min(wanted, len(partitions))
    return [partitions[i::count] for i in range(count)] if count >= 2 else []


async def run_shares(module: str, jobs: list[Any], advance: Callable[[int], None]) -> list[tuple[str, Any]]:
    """Run ``python -m module`` once per job and follow each to its end: (``done``, its result) or the
    reason it gave (``failed``, or what ``serve_share`` was told to call a refusal). ``advance`` is told
    of every batch the shares read."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", module, stdin=PIPE, stdout=PIPE, limit=MESSAGE_LIMIT
        )
        for _ in jobs
    ]
    try:
        for process, job in zip(processes, jobs, strict=True):
            assert process.stdin is not None
            process.stdin.write(pickle.dumps(job))
            await process.stdin.drain()
            process.stdin.close()
        return list(await asyncio.gather(*(_end(process, advance) for process in processes)))
    finally:
        for process in processes:
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
    job = pickle.loads(sys.stdin.buffer.read())
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
