"""Identifier formats the contracts accept: unified social credit codes and jurisdiction codes."""

from __future__ import annotations

import operator
import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# GB 32100-2015: 31 characters, the letters I, O, Z, S and V are never used.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# The shape of a code (the public reporting page checks it as it is typed, from this very pattern).
USCC_PATTERN = r"^[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$"
_USCC_SHAPE = re.compile(USCC_PATTERN)


class InvalidCreditCode(ValueError):
    """A unified social credit code that breaks GB 32100 (shape or check character)."""


_USCC_VALUES = {ch: value for value, ch in enumerate(USCC_ALPHABET)}


def uscc_check_character(first17: str) -> str:
    """The check character GB 32100 prescribes for the first 17 characters of a code."""
    if len(first17) != 17 or not _USCC_VALUES.keys() >= set(first17):
        raise InvalidCreditCode("the first 17 characters must come from the GB 32100 alphabet")
    total = sum(map(operator.mul, map(_USCC_VALUES.__getitem__, first17), USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return the code upper-cased if it is a well-formed unified social credit code (统一社会信用代码)."""
    normalised = code.strip().upper()
    if len(normalised) != 18:
        raise InvalidCreditCode(f"must be 18 characters, got {len(normalised)}")
    if not _USCC_SHAPE.match(normalised):
        raise InvalidCreditCode(
            "characters 3-8 must be digits and all others from 0-9 and A-Y without I, O, S, V, Z"
        )
    expected = uscc_check_character(normalised[:17])
    if normalised[17] != expected:
        raise InvalidCreditCode(f"check character is {normalised[17]!r}, expected {expected!r}")
    return normalised


CreditCode = Annotated[str, AfterValidator(validate_uscc)]

# Six-digit GB/T 2260 codes for province, city and district; longer codes extend the parent's code
# for streets/towns (9), communities/villages (12) and grids (15). Zones without an official code use
# letters in their local code.
JurisdictionCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{6,15}$", min_length=6, max_length=15)]
