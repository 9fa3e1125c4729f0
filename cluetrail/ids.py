"""Identifiers people handle: receipt codes given to reporters."""

from __future__ import annotations

import hashlib
import secrets

# Crockford's base32 without I, L, O, U: easy to read out over a hotline.
RECEIPT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_BODY_LENGTH = 11


def _check_symbol(body: str) -> str:
    total = sum((i + 1) * RECEIPT_ALPHABET.index(ch) for i, ch in enumerate(body))
    return RECEIPT_ALPHABET[total % 32]


def new_receipt_code() -> str:
    """A random 12-character receipt code (55 random bits, a check symbol), e.g. ``7KQ2-M9XD-4T1R``."""
    # One draw of 55 bits read as 11 symbols of 5 bits: the same uniform code as 11 draws, at a cost of one
    # read of the system's random source instead of eleven.
    bits = secrets.randbits(5 * RECEIPT_BODY_LENGTH)
    body = "".join(RECEIPT_ALPHABET[(bits >> (5 * i)) & 31] for i in range(RECEIPT_BODY_LENGTH))
    code = body + _check_symbol(body)
    return f"{code[0:4]}-{code[4:8]}-{code[8:12]}"


def normalise_receipt_code(text: str) -> str | None:
    """The canonical form of a typed-in receipt code, or None when it cannot be one (typo, check fails)."""
    compact = text.strip().upper().replace("-", "").replace(" ", "")
    compact = compact.replace("O", "0").replace("I", "1").replace("L", "1")
    if len(compact) != RECEIPT_BODY_LENGTH + 1 or any(ch not in RECEIPT_ALPHABET for ch in compact):
        return None
    if _check_symbol(compact[:-1]) != compact[-1]:
        return None
    return f"{compact[0:4]}-{compact[4:8]}-{compact[8:12]}"


def receipt_digest(code: str) -> str:
    """What the log keeps of a receipt code: its SHA-256, so the log never holds the code itself."""
    return hashlib.sha256(code.encode()).hexdigest()
