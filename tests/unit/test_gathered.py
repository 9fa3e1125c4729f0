"""``cluetrail.db.Gathered``: the calls of concurrent requests answered by one statement each batch."""

from __future__ import annotations

import asyncio

import pytest

from cluetrail.db import Gathered


class Doubling:
    """A statement that doubles each item and remembers the batches it was given; ``release`` holds it
    (a round trip in flight) until set."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await self.release.wait()
        if any(item < 0 for item in items):
            raise ValueError("a negative item")
        return [item * 2 for item in items]


async def test_calls_made_while_a_statement_runs_go_together_in_the_next() -> None:
    statement = Doubling()
    gathered: Gathered[int, int] = Gathered(statement)
    statement.release.clear()
    first = asyncio.create_task(gathered(1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.create_task(gathered(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    statement.release.set()
    assert await first == 2
    assert [await task for task in later] == [4, 6, 8]
    assert statement.batches == [[1], [2, 3, 4]]


async def test_a_batch_is_at_most_the_limit() -> None:
    statement = Doubling()
    gathered: Gathered[int, int] = Gathered(statement, most=2)
    assert await asyncio.gather(*(gathered(n) for n in range(5))) == [0, 2, 4, 6, 8]
    assert statement.batches == [[0, 1], [2, 3], [4]]


async def test_every_call_of_a_failed_statement_gets_its_error_and_the_next_batch_runs() -> None:
    statement = Doubling()
    gathered: Gathered[int, int] = Gathered(statement, most=2)
    results = await asyncio.gather(gathered(1), gathered(-1), gathered(3), return_exceptions=True)
    assert isinstance(results[0], ValueError) and isinstance(results[1], ValueError)
    assert results[2] == 6
    with pytest.raises(ValueError, match="a negative item"):
        await gathered(-2)
    assert await gathered(5) == 10
