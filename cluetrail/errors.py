"""Base exceptions for rules a request breaks; HTTP maps each to its status with the reason."""

from __future__ import annotations


class RuleViolation(Exception):
    """A request the domain refuses; the message names the rule. Answered 409 unless a subclass says else."""

    status_code = 409

    def __init__(self, reason: str, *, rule: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rule = rule


class NotFound(RuleViolation):
    status_code = 404


class InvalidInput(RuleViolation):
    status_code = 422


class Forbidden(RuleViolation):
    status_code = 403
