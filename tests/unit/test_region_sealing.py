"""The reporter's identity crosses regions sealed for the receiving region's public key: only that region's
private key opens it, only for the case it was sealed for, and a tampered value does not open."""

from __future__ import annotations

import base64
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from hypothesis import given
from hypothesis import strategies as st

from cluetrail.crypto import RegionSealer, SealError, region_key_id

ANHUI, NINGXIA = X25519PrivateKey.generate(), X25519PrivateKey.generate()
REPORTER = {"name": "卢秀梅", "phone": "139 0000 0000", "contact_preference": "phone"}


def public(key: X25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def private(key: X25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


anhui = RegionSealer.from_base64("anhui", private(ANHUI), {"ningxia": public(NINGXIA)})
ningxia = RegionSealer.from_base64("ningxia", private(NINGXIA), {"anhui": public(ANHUI)})


def test_sealed_by_anhui_for_ningxia_opens_in_ningxia_only_for_its_case() -> None:
    case = str(uuid.uuid4())
    sealed = anhui.seal_for("ningxia", REPORTER, case)
    assert sealed.region == "ningxia" and sealed.key_id == region_key_id(NINGXIA.public_key())
    assert "卢秀梅" not in sealed.model_dump_json()
    assert ningxia.open(sealed, case) == REPORTER
    with pytest.raises(SealError, match="not this region's"):
        anhui.open(sealed, case)
    with pytest.raises(SealError, match="tampered or wrong case"):
        ningxia.open(sealed, str(uuid.uuid4()))


def test_a_tampered_value_or_an_unknown_region_does_not_open() -> None:
    case = str(uuid.uuid4())
    sealed = anhui.seal_for("ningxia", REPORTER, case)
    flipped = base64.b64decode(sealed.ciphertext)
    tampered = sealed.model_copy(
        update={"ciphertext": base64.b64encode(bytes([flipped[0] ^ 1]) + flipped[1:]).decode()}
    )
    with pytest.raises(SealError, match="tampered"):
        ningxia.open(tampered, case)
    with pytest.raises(SealError, match="no public key of region 'shanghai'"):
        anhui.seal_for("shanghai", REPORTER, case)


@given(st.dictionaries(st.text(max_size=10), st.text(max_size=40), max_size=5))
def test_any_identity_round_trips(value: dict[str, str]) -> None:
    sealed = anhui.seal_for("ningxia", value, "case")
    assert ningxia.open(sealed, "case") == value


def test_keys_that_are_not_32_byte_x25519_keys_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="region keys: not base64 of 32-byte X25519 keys"):
        RegionSealer.from_base64("anhui", "c2hvcnQ=", {})
