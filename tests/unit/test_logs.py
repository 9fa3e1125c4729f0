"""Logging during outages: a failure that repeats is logged when it begins and when it ends, the libraries'
reconnect chatter once per spell, and a refused offset commit as the harmless thing it is here."""

from __future__ import annotations

import logging

import pytest
from aiokafka.errors import CommitFailedError

from cluetrail import logs
from cluetrail.logs import HarmlessCommitFailure, Outage, RepeatsHeldBack


def record(name: str, msg: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(logs.time, "monotonic", fake)
    return fake


def test_a_broker_outage_logs_the_reconnect_error_once_per_spell(clock: Clock) -> None:
    """25 s of "Unable connect" at thousands of lines a second: one line passes; after 30 quiet seconds
    the next passes again, saying how many were held back."""
    held = RepeatsHeldBack(quiet=30.0)
    passed = []
    for attempt in range(98_000):
        clock.now += 25 / 98_000
        line = record("aiokafka.client", "Unable connect to node with id %s: %s", 1, f"refused {attempt}")
        if held.filter(line):
            passed.append(line.getMessage())
    assert len(passed) == 1 and passed[0].startswith("Unable connect to node with id 1: refused 0")

    clock.now += 31
    again = record("aiokafka.client", "Unable connect to node with id %s: %s", 1, "refused")
    assert held.filter(again)
    assert "97999 like it held back" in again.getMessage()


def test_a_storm_that_never_pauses_passes_a_line_every_quiet_spell_with_its_count(clock: Clock) -> None:
    """Two minutes of a group's generation refused eight times a second, never 30 s apart: one line passes
    every 30 s, each saying how many came since the one before, so the storm shows for what it is."""
    held = RepeatsHeldBack(quiet=30.0)
    passed = []
    for _ in range(960):
        line = record("aiokafka.consumer.group_coordinator", "generation of group %s is illegal", "reporting")
        if held.filter(line):
            passed.append(line.getMessage())
        clock.now += 0.125
    assert len(passed) == 4
    assert passed[0].endswith("(repeats held back until it stops for 30 s)")
    assert all("like it held back in the last 30 s: it keeps coming" in line for line in passed[1:])
    counts = [int(line.rsplit("(", 1)[1].split()[0]) for line in passed[1:]]
    assert counts == [239, 239, 239]  # and 239 more held back since the last line


def test_other_loggers_and_info_records_are_never_held_back(clock: Clock) -> None:
    held = RepeatsHeldBack()
    assert all(held.filter(record("cluetrail.intake", "a clue %s", n)) for n in range(10))
    assert all(held.filter(record("aiokafka.consumer", "x", level=logging.INFO)) for _ in range(10))


def test_a_refused_commit_is_logged_as_harmless_info_without_a_traceback() -> None:
    error = CommitFailedError("Commit cannot be completed since the group has already rebalanced")
    line = logging.LogRecord(
        "cluetrail.reporting.kafka",
        logging.CRITICAL,
        __file__,
        1,
        repr(error),
        (),
        (CommitFailedError, error, None),
    )
    assert HarmlessCommitFailure().filter(line)
    assert line.levelno == logging.INFO and line.exc_info is None
    assert "harmless" in line.getMessage() and "CommitFailedError" in line.getMessage()

    other = logging.LogRecord(
        "x", logging.CRITICAL, __file__, 1, "boom", (), (ValueError, ValueError(), None)
    )
    assert HarmlessCommitFailure().filter(other) and other.levelno == logging.CRITICAL


def test_an_outage_of_a_loop_is_logged_when_it_begins_and_when_it_ends(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage(logging.getLogger("cluetrail.outbox"), "outbox relay of outbox")
    outage.recovered()  # nothing to say while it works
    with caplog.at_level(logging.WARNING):
        for _ in range(25):
            clock.now += 1
            outage.failed(ConnectionError("Kafka is down"))
        clock.now += 1
        outage.recovered()
        outage.recovered()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "outbox relay of outbox failed (ConnectionError: Kafka is down); "
        "retrying, and logging again once it works",
        "outbox relay of outbox works again after 25.0 s (25 failed attempts)",
    ]
