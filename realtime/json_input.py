"""Untrusted JSON bytes in: one decoder that turns every way the bytes can be bad into
one exception, `NotJson`.

Bytes from a client can be bad in more ways than the JSON parser's own error: invalid
UTF-8 inside a string raises `UnicodeDecodeError`, nesting deeper than the parser's
stack (about 1,000 levels) raises `RecursionError`. Each is the sender's mistake, so
callers answer a 4xx for all of them, never a 500.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import msgspec


class Flaw(Enum):
    SYNTAX = "syntax"  # not JSON at all, truncated, NaN, trailing garbage, ...
    ENCODING = "encoding"  # not UTF-8
    DEPTH = "depth"  # nested deeper than the decoder goes


class NotJson(Exception):
    """The bytes are not JSON this service can read; the message says why."""

    def __init__(self, flaw: Flaw, detail: str) -> None:
        super().__init__(detail)
        self.flaw = flaw


def parse_json(data: bytes, type_: Any = Any) -> Any:
    """Decode JSON (into `type_`). NotJson for bytes that are not readable JSON;
    msgspec.ValidationError, unchanged, for well-formed JSON of the wrong shape."""
    try:
        return msgspec.json.decode(data, type=type_)
    except msgspec.ValidationError as exc:
        if type_ is Any:  # no shape was asked for: a number out of range, say
            raise NotJson(Flaw.SYNTAX, f"not valid JSON: {exc}") from None
        raise
    except UnicodeDecodeError:
        # msgspec's offsets are within the string, not the body: not worth repeating.
        raise NotJson(Flaw.ENCODING, "not valid UTF-8") from None
    except RecursionError:
        raise NotJson(Flaw.DEPTH, "nested too deeply (the limit is about 1,000 levels)") from None
    except msgspec.DecodeError as exc:
        raise NotJson(Flaw.SYNTAX, f"not valid JSON: {exc}") from None


def array_elements(data: bytes) -> list[bytes] | None:
    """The raw bytes of each top-level element of a JSON array, or None when `data` is
    not an array. A byte scan, for error reports only: it finds which element of a body
    is unreadable when decoding the whole body failed without saying where."""
    text = data.strip()
    if not text.startswith(b"["):
        return None
    elements: list[bytes] = []
    depth, start, in_string, escaped = 0, 1, False, False
    for index, byte in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
            if depth == 0:
                elements.append(text[start:index])
                break
        elif byte == 0x2C and depth == 1:  # a comma between elements
            elements.append(text[start:index])
            start = index + 1
    return [e for e in elements if e.strip()]
