"""Webhook signatures after Standard Webhooks: a receiver holding one of the recipient's secrets accepts a
notice signed within the tolerance, and only an unaltered one; acknowledgement tokens expire."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.notify.domain.signing import (
    SecretError,
    SignatureRefused,
    ack_token,
    check_ack_token,
    new_secret,
    renew_token,
    secret_key,
    secret_of,
    sign,
    verify,
    webhook_headers,
    withhold_token,
)

NOW = 1_800_000_000
secrets = st.binary(min_size=24, max_size=64).map(secret_of)
bodies = st.text(max_size=500)
ids = st.uuids().map(str)


def test_the_signature_is_the_standard_webhooks_one() -> None:
    """The example of the Standard Webhooks reference libraries: secret, id, timestamp, body, signature."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body.encode()) == expected
    headers = webhook_headers([secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", body, 1614265330)
    assert headers == {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": expected,
    }
    verify(secret, headers, body, now=1614265330)


@given(secret=secrets, message_id=ids, body=bodies)
def test_a_webhook_verifies_with_the_secret_it_was_signed_with(
    secret: str, message_id: str, body: str
) -> None:
    verify([secret], webhook_headers([secret], message_id, body, NOW), body.encode(), now=NOW)


@given(secret=secrets, other=secrets, message_id=ids, body=bodies)
def test_a_webhook_does_not_verify_with_another_secret(
    secret: str, other: str, message_id: str, body: str
) -> None:
    assume(other != secret)
    with pytest.raises(SignatureRefused, match="no signature matches"):
        verify([other], webhook_headers([secret], message_id, body, NOW), body, now=NOW)


@given(secret=secrets, message_id=ids, body=bodies, changed=bodies)
def test_a_changed_body_does_not_verify(secret: str, message_id: str, body: str, changed: str) -> None:
    assume(changed != body)
    with pytest.raises(SignatureRefused):
        verify([secret], webhook_headers([secret], message_id, body, NOW), changed, now=NOW)


@given(secret=secrets, message_id=ids, other_id=ids, body=bodies)
def test_a_signature_does_not_verify_under_another_id(
    secret: str, message_id: str, other_id: str, body: str
) -> None:
    assume(other_id != message_id)
    headers = {**webhook_headers([secret], message_id, body, NOW), "webhook-id": other_id}
    with pytest.raises(SignatureRefused):
        verify([secret], headers, body, now=NOW)


@given(old=secrets, new=secrets, message_id=ids, body=bodies)
def test_during_a_rotation_a_receiver_knowing_either_secret_accepts(
    old: str, new: str, message_id: str, body: str
) -> None:
    """A recipient rotating its secret holds both: each webhook carries a signature per secret."""
    headers = webhook_headers([new, old], message_id, body, NOW)
    assert len(headers["webhook-signature"].split(" ")) == 2
    verify([old], headers, body, now=NOW)
    verify([new], headers, body, now=NOW)
    verify([secret_of(b"another receiver's key, 24b"), new], headers, body, now=NOW)


def test_a_webhook_outside_the_tolerance_window_is_refused() -> None:
    secret = new_secret()
    headers = webhook_headers([secret], "delivery-1", "{}", NOW)
    verify(secret, headers, "{}", now=NOW + 300)  # 5 minutes: still accepted
    verify(secret, headers, "{}", now=NOW - 300)
    with pytest.raises(SignatureRefused, match="301 s ago"):
        verify(secret, headers, "{}", now=NOW + 301)
    with pytest.raises(SignatureRefused, match="in the future"):
        verify(secret, headers, "{}", now=NOW - 301)
    verify(secret, headers, "{}", now=NOW + 3000, tolerance_seconds=3600)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"webhook-id": ""}, "no webhook-id"),
        ({"webhook-timestamp": ""}, "no webhook-timestamp"),
        ({"webhook-signature": ""}, "no webhook-signature"),
        ({"webhook-timestamp": "yesterday"}, "not a Unix time"),
        ({"webhook-timestamp": "１８００００００００"}, "not a Unix time"),
        ({"webhook-signature": "v2,abc v1 v1,%%%"}, "no signature matches"),
    ],
)
def test_a_webhook_without_its_headers_is_refused(change: dict[str, str], reason: str) -> None:
    secret = new_secret()
    headers = {**webhook_headers([secret], "delivery-1", "{}", NOW), **change}
    with pytest.raises(SignatureRefused, match=reason):
        verify(secret, headers, "{}", now=NOW)


def test_headers_are_matched_whatever_their_case() -> None:
    secret = new_secret()
    headers = {k.title(): v for k, v in webhook_headers([secret], "delivery-1", "{}", NOW).items()}
    verify(secret, headers, "{}", now=NOW)


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("demo-only-secret-0001-0123", "starts with whsec_"),
        ("whsec_not base64!", "not base64"),
        (secret_of(b"short"), "24 to 64 bytes"),
        (secret_of(b"x" * 65), "24 to 64 bytes"),
    ],
)
def test_a_secret_is_whsec_and_24_to_64_bytes(secret: str, reason: str) -> None:
    with pytest.raises(SecretError, match=reason):
        secret_key(secret)


def test_an_acknowledgement_token_expires_and_verifies_with_any_secret_of_the_recipient() -> None:
    old, new = new_secret(), new_secret()
    token = ack_token(old, "delivery-1", NOW + 10)
    assert check_ack_token([new, old], "delivery-1", token, NOW) == "valid"
    assert check_ack_token([new, old], "delivery-1", token, NOW + 10) == "expired"
    assert check_ack_token([new], "delivery-1", token, NOW) == "wrong"
    assert check_ack_token([old], "delivery-2", token, NOW) == "wrong"
    # The expiry is covered by the MAC: a token cannot be stretched.
    stretched = f"{NOW + 10_000}." + token.split(".")[1]
    assert check_ack_token([old], "delivery-1", stretched, NOW + 20) == "wrong"
    for odd in (None, "", "确认", "é", token + " ", token.upper(), "١٢." + token.split(".")[1]):
        assert check_ack_token([old], "delivery-1", odd, NOW) == "wrong"


def test_the_token_of_a_link_is_withheld_from_readers_and_renewed_on_a_resend() -> None:
    token = ack_token(new_secret(), "delivery-1", NOW)
    body = f'{{"acknowledge_url":"https://notify.example/v1/deliveries/delivery-1/ack?token={token}"}}'
    assert token not in withhold_token(body) and "token=(withheld)" in withhold_token(body)
    fresh = ack_token(new_secret(), "delivery-1", NOW + 86_400)
    assert renew_token(body, fresh) == body.replace(token, fresh)
