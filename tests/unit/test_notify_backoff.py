"""Retry timing: full-jitter exponential backoff stays within its bounds and gives up when told."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notify.domain.backoff import RetryPolicy

DEFAULT = RetryPolicy(base_seconds=1.0, max_seconds=60.0, max_attempts=8)  # the window off: a count alone


def test_the_default_ceilings_double_from_one_second_up_to_a_minute() -> None:
    assert [DEFAULT.ceiling(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


@given(
    base=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=10, max_value=3600),
    failed=st.integers(min_value=1, max_value=10_000),
    seed=st.integers(),
)
def test_every_delay_lies_between_zero_and_the_ceiling(
    base: float, cap: float, failed: int, seed: int
) -> None:
    policy = RetryPolicy(base, cap, 8)
    delay = policy.delay(failed, random.Random(seed))
    assert 0.0 <= delay <= policy.ceiling(failed) <= cap
    if failed <= 64:
        assert policy.ceiling(failed) == min(cap, base * 2 ** (failed - 1))
    else:
        assert policy.ceiling(failed) == cap


def test_the_jitter_spreads_retries_over_the_whole_window() -> None:
    rng = random.Random(7)
    delays = [DEFAULT.delay(5, rng) for _ in range(2000)]
    assert min(delays) < 1.6 and max(delays) > 14.4  # the window is [0, 16]
    assert len({round(d, 3) for d in delays}) > 1000


def test_a_delivery_is_dead_after_the_last_attempt() -> None:
    assert not DEFAULT.exhausted(7)
    assert DEFAULT.exhausted(8)


def test_a_backoff_needs_a_failure_before_it() -> None:
    with pytest.raises(ValueError, match="at least one failed attempt"):
        DEFAULT.ceiling(0)


def test_an_outage_of_hours_is_retried_through_and_given_up_after_the_window() -> None:
    from services.notify.settings import NotifySettings

    settings = NotifySettings()
    policy = RetryPolicy(
        settings.retry_base_seconds,
        settings.retry_max_seconds,
        settings.max_attempts,
        settings.retry_window_hours * 3600,
    )
    # By default a failing delivery waits at most five minutes between attempts…
    assert policy.ceiling(50) == 300
    # …and is still alive after a five-minute outage and after several hours of attempts at the cap.
    assert not policy.exhausted(8, failing_for_seconds=5 * 60)
    assert not policy.exhausted(100, failing_for_seconds=6 * 3600)
    # A day of failures kills it (dead letter, alert), as does the attempt bound.
    assert policy.exhausted(300, failing_for_seconds=24 * 3600)
    assert policy.exhausted(settings.max_attempts, failing_for_seconds=60)
