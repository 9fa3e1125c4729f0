"""Retry timing: exponential backoff with full jitter, over a retry window long enough for an outage.

After failed attempt ``n`` (1-based) the next attempt waits a uniform random time in
``[0, min(max_delay, base * 2**(n-1))]``. Jitter spreads retries of many deliveries to a receiver that
just came back, so they do not arrive as one burst.

A delivery is given up (dead) when it has been failing for longer than the retry window, counted from
its first failed attempt, or after ``max_attempts`` attempts, whichever comes first. The window, not
the count, is what makes a receiver that is down for minutes or hours get everything when it is back:
with a cap of a few minutes a count alone would be used up by a short outage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a delivery is retried."""

    base_seconds: float
    max_seconds: float
    max_attempts: int
    # None: only the attempt count ends the retries.
    window_seconds: float | None = None

    def ceiling(self, failed_attempts: int) -> float:
        """The largest wait after ``failed_attempts`` failures (the jitter is drawn below it)."""
        if failed_attempts < 1:
            raise ValueError("a backoff follows at least one failed attempt")
        # Cap the exponent so huge attempt counts cannot overflow the float.
        return min(self.max_seconds, self.base_seconds * 2 ** min(failed_attempts - 1, 64))

    def delay(self, failed_attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before the next attempt."""
        return (rng or random).uniform(0.0, self.ceiling(failed_attempts))

    def exhausted(self, attempts: int, failing_for_seconds: float = 0.0) -> bool:
        """True when no attempt is left: ``attempts`` made, failing since ``failing_for_seconds`` ago."""
        if attempts >= self.max_attempts:
            return True
        return self.window_seconds is not None and failing_for_seconds >= self.window_seconds
