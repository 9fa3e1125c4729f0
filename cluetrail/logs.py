"""Logging written once: a failure that repeats (Kafka or PostgreSQL down, a receiver gone) is logged when it
begins and when it ends, not on every retry; what the libraries log as alarming but is harmless here is
logged for what it is; and no request data reaches the log through an error message (``WithoutInputs``).

In 25 s of a broker outage aiokafka alone logs tens of thousands of "Unable connect" lines, and every retry
loop of ours would log its traceback once a second: an operator then cannot find the one line that matters.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from dataclasses import dataclass, field

import asyncpg
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError
from pydantic import ValidationError

# Libraries whose warnings and errors repeat on every reconnect attempt during an outage.
CHATTY_LOGGERS = ("aiokafka", "kafka")
# Commit failures after a rebalance or a broker restart: the consume loop stores its positions with its
# effects in PostgreSQL, so a commit refused by Kafka only means the batch is delivered again and skipped.
HARMLESS_COMMIT_ERRORS = (CommitFailedError, IllegalStateError, RebalanceInProgressError)


class Outage:
    """A repeating failure of one loop (a relay, a sender, a consumer), logged when it begins — the error,
    with its traceback once — and when it ends, with how long it lasted and how many attempts failed."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._log = logger
        self._what = what
        self._since: float | None = None
        self._failures = 0

    def failed(self, exc: BaseException) -> None:
        self._failures += 1
        if self._since is None:
            self._since = time.monotonic()
            self._log.warning(
                "%s failed (%s: %s); retrying, and logging again once it works",
                self._what,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )

    def recovered(self) -> None:
        if self._since is None:
            return
        self._log.warning(
            "%s works again after %.1f s (%d failed attempts)",
            self._what,
            time.monotonic() - self._since,
            self._failures,
        )
        self._since = None
        self._failures = 0


@dataclass
class _Held:
    last_seen: float
    passed_at: float
    held_back: int = 0


@dataclass
class RepeatsHeldBack(logging.Filter):
    """A handler filter for the chatty libraries: the first record of a kind (logger and message template)
    passes; repeats are held back while they keep coming within ``quiet`` seconds of each other. The first
    one after a quiet spell passes again, saying how many were held back; one that keeps coming passes once
    every ``quiet`` seconds, saying how many came meanwhile (a storm that never pauses, e.g. a consumer
    group rebalancing for minutes, shows as such rather than as its first line only)."""

    quiet: float = 30.0
    _kinds: dict[tuple[str, str], _Held] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(CHATTY_LOGGERS):
            return True
        now = time.monotonic()
        kind = (record.name, str(record.msg))
        held = self._kinds.get(kind)
        if held is None:
            self._kinds[kind] = _Held(now, now)
            record.msg = f"{record.msg} (repeats held back until it stops for {self.quiet:.0f} s)"
            return True
        if now - held.last_seen < self.quiet:
            held.last_seen = now
            if now - held.passed_at < self.quiet:
                held.held_back += 1
                return False
            record.msg = (
                f"{record.msg} ({held.held_back} like it held back in the last "
                f"{now - held.passed_at:.0f} s: it keeps coming)"
            )
            held.passed_at, held.held_back = now, 0
            return True
        record.msg = f"{record.msg} ({held.held_back} like it held back before this one)"
        self._kinds[kind] = _Held(now, now)
        return True


class HarmlessCommitFailure(logging.Filter):
    """FastStream logs a refused offset commit as CRITICAL; here it is harmless (positions are stored with
    the effects, so the batch is delivered again and skipped), and logged as INFO saying so."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HARMLESS_COMMIT_ERRORS):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = (
                "Kafka refused an offset commit (%s), as it does after a rebalance or a broker restart: "
                "harmless, the batch's positions are stored with its effects and it is skipped when "
                "delivered again"
            )
            record.args = (type(error).__name__,)
            record.exc_info = None
            record.exc_text = None
        return True


def safe_message(exc: BaseException) -> str:
    """An exception's message without the data it may quote: a validation error names where and what is
    wrong, never the input (a request body, a reporter's name); a PostgreSQL data error is withheld (it
    quotes the value it refused)."""
    if isinstance(exc, ValidationError):
        found = exc.errors(include_input=False, include_url=False, include_context=False)
        return f"{exc.error_count()} validation errors for {exc.title}: {_where(found)}"
    # FastAPI's own validation error exists only in a process that imported FastAPI: the commands and
    # processes that only read the log never do, and importing it for them would cost them a second.
    fastapi_validation = getattr(sys.modules.get("fastapi.exceptions"), "ValidationException", None)
    if fastapi_validation is not None and isinstance(exc, fastapi_validation):
        return f"{len(exc.errors())} validation errors: {_where(exc.errors())}"
    if isinstance(exc, asyncpg.DataError):
        return "(message withheld: it quotes the value refused)"
    return str(exc)


def _where(errors: object) -> str:
    found = errors if isinstance(errors, list | tuple) else []
    return "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))} ({e.get('type', '?')})"
        for e in found
        if isinstance(e, dict)
    )


def redacted_traceback(exc: BaseException) -> str:
    """The traceback Python would print for ``exc`` and the exceptions it was raised from or while
    handling, each message as ``safe_message`` gives it."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            current = current.__context__
        else:
            current = None
    parts: list[str] = []
    for earlier, later in zip([None, *reversed(chain)], reversed(chain), strict=False):
        if earlier is not None:
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if later.__cause__ is earlier
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(later.__traceback__))
        kind = type(later)
        name = kind.__qualname__
        if kind.__module__ != "builtins":
            name = f"{kind.__module__}.{name}"
        parts.append(f"{name}: {safe_message(later)}\n")
        if isinstance(later, BaseExceptionGroup):
            for number, inner in enumerate(later.exceptions, start=1):
                nested = redacted_traceback(inner).rstrip("\n").replace("\n", "\n  | ")
                parts.append(f"  +---- {number} ----\n  | {nested}\n")
    return "".join(parts).rstrip("\n")


class WithoutInputs(logging.Filter):
    """A handler filter: a record's traceback, and exceptions among its arguments, are written with
    ``safe_message``. An unexpected error while a request is handled would otherwise log the validation
    errors it was raised during, whose inputs are the request body with a reporter's name and phone."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and not record.exc_text:
            record.exc_text = redacted_traceback(error)
        if isinstance(record.args, tuple) and any(isinstance(a, BaseException) for a in record.args):
            record.args = tuple(safe_message(a) if isinstance(a, BaseException) else a for a in record.args)
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """The process's logging: one line per record on standard error, the filters above on its handler."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RepeatsHeldBack) for f in handler.filters):
            handler.addFilter(HarmlessCommitFailure())
            handler.addFilter(RepeatsHeldBack())
            handler.addFilter(WithoutInputs())
