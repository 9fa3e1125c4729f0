"""Identifier formats: unified social credit codes (GB 32100) and receipt codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluetrail.ids import RECEIPT_ALPHABET, new_receipt_code, normalise_receipt_code, receipt_digest
from contracts.codes import USCC_ALPHABET, InvalidCreditCode, uscc_check_character, validate_uscc

DIGITS = "0123456789"
# A valid first 17: registration authority and type (2), administrative division (6 digits), organisation (9).
first17 = st.builds(
    lambda head, region, body: head + region + body,
    st.text(USCC_ALPHABET, min_size=2, max_size=2),
    st.text(DIGITS, min_size=6, max_size=6),
    st.text(USCC_ALPHABET, min_size=9, max_size=9),
)


@given(first17)
def test_appending_the_check_character_makes_a_valid_code(prefix: str) -> None:
    code = prefix + uscc_check_character(prefix)
    assert validate_uscc(code) == code
    assert validate_uscc(f"  {code.lower()} ") == code


@given(first17, st.integers(0, 17), st.integers(1, len(USCC_ALPHABET) - 1))
def test_changing_any_one_character_makes_the_code_invalid(prefix: str, position: int, shift: int) -> None:
    code = prefix + uscc_check_character(prefix)
    replacement = USCC_ALPHABET[(USCC_ALPHABET.index(code[position]) + shift) % len(USCC_ALPHABET)]
    altered = code[:position] + replacement + code[position + 1 :]
    assert altered != code
    with pytest.raises(InvalidCreditCode):
        validate_uscc(altered)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91340102MA2TEQ001", "must be 18 characters"),
        ("9134010AMA2TEQ0010", "characters 3-8 must be digits"),
        ("91340102MA2TEQ001S", "characters 3-8 must be digits and all others"),
        ("91340102MA2TEQ0010", "check character is '0', expected 'R'"),
    ],
)
def test_a_broken_code_is_refused_with_the_reason(code: str, reason: str) -> None:
    with pytest.raises(InvalidCreditCode, match=reason):
        validate_uscc(code)


def _with_check_symbol(body: str) -> str:
    """The one valid receipt code with this body (the only check symbol normalisation accepts)."""
    valid = [code for ch in RECEIPT_ALPHABET if (code := normalise_receipt_code(body + ch)) is not None]
    assert len(valid) == 1
    return valid[0]


receipt_codes = st.text(RECEIPT_ALPHABET, min_size=11, max_size=11).map(_with_check_symbol)


def test_new_receipt_codes_are_canonical_and_distinct() -> None:
    codes = {new_receipt_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(normalise_receipt_code(code) == code for code in codes)


@given(receipt_codes)
def test_a_receipt_code_is_its_own_canonical_form(code: str) -> None:
    assert normalise_receipt_code(code) == code
    assert len(code) == 14 and code[4] == code[9] == "-"
    assert all(ch in RECEIPT_ALPHABET for ch in code.replace("-", ""))


@given(receipt_codes, st.data())
def test_a_receipt_code_read_out_or_typed_carelessly_still_finds_its_case(
    code: str, data: st.DataObject
) -> None:
    compact = code.replace("-", "")
    typed = "".join(
        data.draw(
            st.sampled_from({"0": ["0", "o", "O"], "1": ["1", "i", "I", "l", "L"]}.get(ch, [ch, ch.lower()]))
        )
        + data.draw(st.sampled_from(["", "", " ", "-"]))
        for ch in compact
    )
    assert normalise_receipt_code(typed) == code
    assert receipt_digest(normalise_receipt_code(typed) or "") == receipt_digest(code)


@given(receipt_codes, st.integers(0, 11), st.sampled_from("!#Uu*"))
def test_a_receipt_code_with_a_character_outside_the_alphabet_is_refused(code: str, at: int, ch: str) -> None:
    compact = code.replace("-", "")
    assert normalise_receipt_code(compact[:at] + ch + compact[at + 1 :]) is None


@given(receipt_codes)
def test_a_receipt_code_missing_or_gaining_a_character_is_refused(code: str) -> None:
    compact = code.replace("-", "")
    assert normalise_receipt_code(compact[:-1]) is None
    assert normalise_receipt_code(compact + "7") is None


def test_the_log_keeps_only_a_digest_of_the_receipt_code() -> None:
    code = new_receipt_code()
    digest = receipt_digest(code)
    assert len(digest) == 64 and code not in digest
