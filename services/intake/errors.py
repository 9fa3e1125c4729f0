"""Refusals particular to intake, each answered with its HTTP status and a reason."""

from __future__ import annotations

from cluetrail.errors import RuleViolation


class MalformedReceiptCode(RuleViolation):
    """Text that cannot be a receipt code (wrong length, letters outside the alphabet, check fails)."""

    status_code = 400
