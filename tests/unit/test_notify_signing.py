"""Webhook signatures: a receiver holding the right secret accepts a notice, and only an unaltered one."""

from __future__ import annotations

import hashlib
import hmac

from hypothesis import assume, given
from hypothesis import strategies as st

from services.notify.domain.signing import sign, verify

secrets = st.text(min_size=16, max_size=64)
timestamps = st.integers(min_value=0, max_value=2**40).map(str)
bodies = st.text(max_size=500)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = '{"text":"【案件上报】瑶海区"}'
    expected = hmac.new(b"demo-only-secret-0001", ("1763769600." + body).encode(), hashlib.sha256).hexdigest()
    assert sign("demo-only-secret-0001", "1763769600", body) == "sha256=" + expected
    assert sign("demo-only-secret-0001", "1763769600", body.encode()) == "sha256=" + expected


@given(secret=secrets, timestamp=timestamps, body=bodies)
def test_a_signature_verifies_with_the_secret_it_was_made_with(
    secret: str, timestamp: str, body: str
) -> None:
    assert verify(secret, timestamp, body, sign(secret, timestamp, body))


@given(secret=secrets, other=secrets, timestamp=timestamps, body=bodies)
def test_a_signature_does_not_verify_with_another_secret(
    secret: str, other: str, timestamp: str, body: str
) -> None:
    assume(other != secret)
    assert not verify(other, timestamp, body, sign(secret, timestamp, body))


@given(secret=secrets, timestamp=timestamps, body=bodies, changed=bodies)
def test_a_signature_does_not_verify_a_changed_body(
    secret: str, timestamp: str, body: str, changed: str
) -> None:
    assume(changed != body)
    assert not verify(secret, timestamp, changed, sign(secret, timestamp, body))


@given(secret=secrets, timestamp=timestamps, replayed=timestamps, body=bodies)
def test_a_signature_does_not_verify_at_another_timestamp(
    secret: str, timestamp: str, replayed: str, body: str
) -> None:
    assume(replayed != timestamp)
    assert not verify(secret, replayed, body, sign(secret, timestamp, body))


def test_a_missing_signature_never_verifies() -> None:
    assert not verify("demo-only-secret-0001", "1", "{}", None)
    assert not verify("demo-only-secret-0001", "1", "{}", "")
