"""JSON read and written with orjson gives exactly what the standard library's json gives: the canonical
bytes every hash is computed over, the values read from a record, and the errors."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import Enum, IntEnum, StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import jsontext
from contracts.envelope import compute_hash

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.jsonl"))


def stdlib_canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def outcome(call: Any, argument: Any) -> tuple[str, Any]:
    try:
        return ("value", repr(call(argument)))
    except Exception as exc:
        return ("error", f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.name)
def test_the_golden_events_read_and_hash_as_written(fixture: Path) -> None:
    for line in fixture.read_bytes().splitlines():
        document = json.loads(line)
        assert jsontext.loads(line) == document
        assert jsontext.canonical(document) == stdlib_canonical(document)
        body = {k: v for k, v in document.items() if k != "hash"}
        assert jsontext.canonical(body) == stdlib_canonical(body)
        assert compute_hash(document) == document["hash"]
        assert json.loads(jsontext.text(document["payload"])) == document["payload"]
        read, plain = jsontext.read(line)
        assert plain and read == document
        assert compute_hash(read, plain=True) == document["hash"]
        assert jsontext.text(read["payload"], plain=True) == jsontext.text(document["payload"])


class Colour(Enum):
    RED = "red"


class Code(StrEnum):
    A = "a"


class Level(IntEnum):
    ONE = 1


@pytest.mark.parametrize(
    "value",
    [
        {"amount": 1e16, "ratio": 1.5e-05, "whole": 380.0},  # json writes 1e+16, orjson 1e16
        {"nan": float("nan"), "inf": float("inf")},  # json writes NaN, orjson null
        {"big": 2**64, "small": -(2**63) - 1},  # beyond 64 bits: orjson refuses
        {1: "a", None: "b"},  # keys json turns into strings
        {"tuple": (1, "二")},
        {"code": Code.A, Level.ONE: Level.ONE},
        {"colour": Colour.RED},  # json refuses what orjson writes
        {"id": uuid.UUID(int=7)},
        {"at": datetime(2026, 10, 1, tzinfo=UTC)},
        {"lone": "\ud800"},
        {"控制": '\x00\x1f\x7f\u2028\u2029"\\/ é 中 😀'},
        {"deep": json.loads("[" * 150 + "]" * 150)},
    ],
)
def test_anything_but_plain_json_is_written_as_json_writes_it(value: Any) -> None:
    assert outcome(jsontext.canonical, value) == outcome(stdlib_canonical, value)
    expected = outcome(lambda v: json.dumps(v, ensure_ascii=False), value)
    written = outcome(jsontext.text, value)
    assert written[0] == expected[0]
    if expected[0] == "value" and "nan" not in expected[1]:
        assert json.loads(jsontext.text(value)) == json.loads(json.dumps(value, ensure_ascii=False))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":18446744073709551616,"b":-9223372036854775809}',  # orjson would read floats
        b'{"a":123456789012345678901234567890}',
        b'{"a":1e400,"b":NaN,"c":-Infinity}',
        b'{"a":"\\ud800"}',
        b'\xef\xbb\xbf{"a":1}',
        b'{"a":1,"a":2}',
        b'{"a":-0,"b":1.0,"c":1E+2}',
        b'{"a":"\x01"}',
        b'{"a":1,}',
        b'{"a":\xff}',
        b"[" * 150 + b"]" * 150,
        b"[" * 1100 + b"]" * 1100,
    ],
)
def test_records_read_as_json_reads_them(raw: bytes) -> None:
    assert outcome(jsontext.loads, raw) == outcome(json.loads, raw)
    assert outcome(lambda r: jsontext.read(r)[0], raw) == outcome(json.loads, raw)
    assert_plain_only_when_plain(raw)


def assert_plain_only_when_plain(raw: bytes) -> None:
    """``read`` says plain only of a value ``is_plain`` would pass, and then canonical and text written
    without the check are json's."""
    try:
        value, plain = jsontext.read(raw)
    except (ValueError, RecursionError):  # refused as json refuses it (checked above)
        return
    if plain:
        assert jsontext.is_plain(value)
        assert outcome(lambda v: jsontext.canonical(v, plain=True), value) == outcome(stdlib_canonical, value)
        assert outcome(lambda v: jsontext.text(v, plain=True), value) == outcome(jsontext.text, value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_any_json_value_reads_and_writes_as_with_json(value: Any) -> None:
    assert outcome(jsontext.canonical, value) == outcome(stdlib_canonical, value)
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert outcome(jsontext.loads, raw) == outcome(json.loads, raw)
    assert_plain_only_when_plain(raw)
    spaced = json.dumps(value, ensure_ascii=True, indent=1).encode()
    assert outcome(jsontext.loads, spaced) == outcome(json.loads, spaced)
    assert_plain_only_when_plain(spaced)
