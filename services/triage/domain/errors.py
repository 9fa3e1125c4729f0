"""Why triage refuses an event or a request."""

from __future__ import annotations

from cluetrail.errors import RuleViolation
from contracts.chain import Fault


class OutOfChain(ValueError):
    """An event that does not continue its case's chain (wrong seq, wrong prev_hash, wrong case, or a
    case that does not start with its clue). The log is refused, not the officer: consumers dead-letter it.
    ``fault`` says how the chain step failed (fork, gap, altered), when it did."""

    def __init__(self, reason: str, fault: Fault | None = None) -> None:
        super().__init__(reason)
        self.fault = fault


class TransitionRefused(RuleViolation):
    """An officer's request the case's state machine refuses; ``rule`` names the rule (HTTP 409)."""

    def __init__(self, reason: str, *, rule: str) -> None:
        super().__init__(reason, rule=rule)
