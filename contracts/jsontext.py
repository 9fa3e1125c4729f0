"""JSON text read and written with orjson, with exactly the results of the standard library's ``json``.

Reading and hashing every event is most of what a rebuild of a projection does, and orjson does both about
three times as fast as ``json``. It differs from ``json`` only outside plain JSON (strings, integers,
booleans, null, objects and arrays): it reads integers beyond 64 bits as floats, writes floats in another
notation (``1e16`` for ``1e+16``), writes NaN as null, refuses lone surrogates, reads deeper nesting than
``json`` can and writes types ``json`` refuses (datetimes, UUIDs, enums). So each function here hands
anything but plain JSON to ``json``: the bytes and values are the same as ``json``'s, and so are its
errors and their messages.

A record is read first by msgspec, refusing every float (``float_hook``): what it accepts, at most
``MAX_DEPTH`` brackets deep, is plain JSON read exactly as ``json`` reads it (integers beyond 64 bits are
``int`` there too), so ``read`` can say so and the hash of the value is written without walking it again.
Anything msgspec refuses (a float, a byte-order mark, a lone surrogate, invalid JSON) takes the path above.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson

_SCALARS = frozenset({str, int, bool, type(None)})
# Deeper documents go to json, which refuses them past Python's recursion limit (orjson reads 1,024 levels).
MAX_DEPTH = 100


def is_plain(value: Any) -> bool:
    """True when ``value`` holds only dicts, lists, strings, integers, booleans and None (no floats, no
    subclasses such as enums), at most ``MAX_DEPTH`` levels deep: what orjson reads and writes exactly as
    ``json`` does."""
    level = [value]
    for _ in range(MAX_DEPTH):
        inner: list[Any] = []
        for item in level:
            kind = type(item)
            if kind is dict:
                inner.extend(item.values())
            elif kind is list:
                inner.extend(item)
            elif kind not in _SCALARS:
                return False
        if not inner:
            return True
        level = inner
    return False


def _refuse_float(_: str) -> Any:
    raise ValueError("a float: read by json")


_PLAIN_READER = msgspec.json.Decoder(float_hook=_refuse_float)
_PLAIN_REFUSED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


def read(raw: bytes | str) -> tuple[Any, bool]:
    """``(json.loads(raw), plain)``: ``plain`` says the value is plain JSON (``is_plain``), so that
    ``canonical`` and ``text`` may write it, or any part of it, without looking at it again."""
    if isinstance(raw, bytes):
        brackets = raw.count(b"[") + raw.count(b"{")
    else:
        brackets = raw.count("[") + raw.count("{")
    if brackets < MAX_DEPTH:  # so no deeper than is_plain allows
        try:
            return _PLAIN_READER.decode(raw), True
        except _PLAIN_REFUSED:
            pass
    return _loads(raw), False


def loads(raw: bytes | str) -> Any:
    """``json.loads(raw)``."""
    return read(raw)[0]


def _loads(raw: bytes | str) -> Any:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)  # refused by orjson: json accepts it (NaN, a lone surrogate…) or says why not
    return value if is_plain(value) else json.loads(raw)


def canonical(value: Any, *, plain: bool = False) -> bytes:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``: sorted
    keys, no insignificant whitespace, UTF-8. ``plain``: the value is known to be plain JSON (``read``
    said so), not checked again."""
    if plain or is_plain(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # an integer beyond 64 bits, a key that is not a string, a lone surrogate: as json does
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def text(value: Any, *, plain: bool = False) -> str:
    """JSON text of ``value`` for a ``jsonb`` column: the same JSON as ``json.dumps(value,
    ensure_ascii=False)``, without its spaces (which ``jsonb`` does not keep). ``plain`` as for
    ``canonical``."""
    if plain or is_plain(value):
        try:
            return orjson.dumps(value).decode()
        except orjson.JSONEncodeError:
            pass
    return json.dumps(value, ensure_ascii=False)
