"""Field-level encryption of reporter identity (举报人保护): AES-256-GCM, keys outside Kafka."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from cluetrail.settings import decode_reporter_keys
from contracts.events import SealedValue
from contracts.events.handoff import SealedForRegion


class SealError(ValueError):
    """A sealed value that cannot be opened: unknown key or tampered ciphertext."""


class FieldSealer:
    """Seals and opens JSON values. The case id is bound as associated data, so a sealed reporter
    cannot be copied onto another case."""

    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"reporter key {key_id!r} must be 32 bytes, got {len(key)}")
        self._keys = keys
        self._active = active_key_id

    @classmethod
    def from_settings(cls, keys_json: str, active_key_id: str) -> FieldSealer:
        return cls(decode_reporter_keys(keys_json), active_key_id)

    def seal(self, value: Any, associated: str) -> SealedValue:
        nonce = os.urandom(12)
        plaintext = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
        ciphertext = AESGCM(self._keys[self._active]).encrypt(nonce, plaintext, associated.encode())
        return SealedValue(
            key_id=self._active,
            nonce=base64.b64encode(nonce).decode(),
            ciphertext=base64.b64encode(ciphertext).decode(),
        )

    def open(self, sealed: SealedValue, associated: str) -> Any:
        key = self._keys.get(sealed.key_id)
        if key is None:
            raise SealError(f"no key {sealed.key_id!r} to open this value")
        try:
            plaintext = AESGCM(key).decrypt(
                base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), associated.encode()
            )
        except Exception as exc:
            raise SealError("sealed value does not open with its key (tampered or wrong case)") from exc
        return json.loads(plaintext)


# --- Sealing for another region (docs/regions.md, "Reporter identity across regions") --------------------

REGION_INFO = b"cluetrail region seal v1"


def region_key_id(public: X25519PublicKey) -> str:
    """A public key's short name: the first 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def new_region_key_pair() -> tuple[str, str]:
    """A fresh X25519 key pair for a region, as base64 of the raw bytes: (private, public). The private
    key is the region's secret (``CLUETRAIL_REGION_PRIVATE_KEY``); the public one goes in every peer's
    region keys file."""
    private = X25519PrivateKey.generate()
    return (
        _b64(private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())),
        _b64(private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
    )


def _region_key(shared: bytes, associated: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=REGION_INFO + associated.encode()).derive(
        shared
    )


class RegionSealer:
    """Seals values for other regions' public keys and opens those sealed for this region's private key.

    The private key never leaves its region; the public keys are deployment data. A value sealed for a
    region opens only with that region's private key and only for the case it was sealed for (the case id
    is the associated data, bound into the derived key and the AES-GCM tag)."""

    def __init__(self, region: str, private: X25519PrivateKey, peers: dict[str, X25519PublicKey]) -> None:
        self.region = region
        self._private = private
        self._peers = peers

    @classmethod
    def from_base64(cls, region: str, private_b64: str, peers_b64: dict[str, str]) -> RegionSealer:
        """From base64 raw keys (32 bytes each), as settings and the region keys file hold them."""
        try:
            private = X25519PrivateKey.from_private_bytes(base64.b64decode(private_b64, validate=True))
            peers = {
                alias: X25519PublicKey.from_public_bytes(base64.b64decode(key, validate=True))
                for alias, key in peers_b64.items()
            }
        except (ValueError, TypeError) as exc:
            raise ValueError(f"region keys: not base64 of 32-byte X25519 keys ({exc})") from None
        return cls(region, private, peers)

    @property
    def public_key(self) -> X25519PublicKey:
        return self._private.public_key()

    def seal_for(self, region: str, value: Any, associated: str) -> SealedForRegion:
        public = self._peers.get(region)
        if public is None:
            raise SealError(f"no public key of region {region!r} to seal for")
        ephemeral = X25519PrivateKey.generate()
        key = _region_key(ephemeral.exchange(public), associated)
        nonce = os.urandom(12)
        plaintext = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
        return SealedForRegion(
            region=region,
            key_id=region_key_id(public),
            ephemeral_public=_b64(ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
            nonce=_b64(nonce),
            ciphertext=_b64(AESGCM(key).encrypt(nonce, plaintext, associated.encode())),
        )

    def open(self, sealed: SealedForRegion, associated: str) -> Any:
        if sealed.region != self.region or sealed.key_id != region_key_id(self.public_key):
            raise SealError(
                f"sealed for region {sealed.region} key {sealed.key_id}, not this region's "
                f"({self.region} key {region_key_id(self.public_key)})"
            )
        try:
            ephemeral = X25519PublicKey.from_public_bytes(base64.b64decode(sealed.ephemeral_public))
            key = _region_key(self._private.exchange(ephemeral), associated)
            plaintext = AESGCM(key).decrypt(
                base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), associated.encode()
            )
        except Exception as exc:
            raise SealError(
                "sealed value does not open with this region's key (tampered or wrong case)"
            ) from exc
        return json.loads(plaintext)
