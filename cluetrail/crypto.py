"""Field-level encryption of reporter identity (举报人保护): AES-256-GCM, keys outside Kafka."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cluetrail.settings import decode_reporter_keys
from contracts.events import SealedValue


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
