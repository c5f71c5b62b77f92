"""The one body decoder and the Content-Type rule, as pure functions (no server)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from realtime.altdata import AltBodyRefused, parse_alt_body
from realtime.api.bodies import Body, decode_body, require_media_type
from realtime.api.problems import ApiError
from realtime.json_input import Flaw, NotJson, array_elements, parse_json

DEEP = b"[" * 1000 + b"]" * 1000


class Envelope(msgspec.Struct, forbid_unknown_fields=True):
    value: Any  # a field that takes any JSON, so depth is reached


@pytest.mark.parametrize(
    ("data", "flaw"),
    [
        (b"{", Flaw.SYNTAX),
        (b"NaN", Flaw.SYNTAX),
        (b"1e999", Flaw.SYNTAX),
        (b'"\xff"', Flaw.ENCODING),
        (DEEP, Flaw.DEPTH),
        (b'{"a":' + DEEP + b"}", Flaw.DEPTH),
    ],
    ids=["truncated", "nan", "out_of_range", "not_utf8", "deep", "deep_in_object"],
)
def test_parse_json_when_bytes_unreadable_then_not_json_with_its_flaw(
    data: bytes, flaw: Flaw
) -> None:
    with pytest.raises(NotJson) as refused:
        parse_json(data)
    assert refused.value.flaw is flaw


@pytest.mark.parametrize(
    "data",
    [b'{"value":' + DEEP + b"}", b'{"value":"\xc3\x28"}', b'{"value":', b""],
    ids=["deep", "not_utf8", "truncated", "empty"],
)
def test_decode_body_when_bytes_unreadable_then_400_malformed_json(data: bytes) -> None:
    with pytest.raises(ApiError) as refused:
        decode_body(Body(data, "application/json"), Envelope)
    assert (refused.value.status, refused.value.code) == (400, "MALFORMED_JSON")


def test_decode_body_when_shape_wrong_then_422_unknown_field() -> None:
    with pytest.raises(ApiError) as refused:
        decode_body(Body(b'{"other": 1}'), Envelope)
    assert (refused.value.status, refused.value.code) == (422, "UNKNOWN_FIELD")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16"],
)
def test_require_media_type_when_not_json_then_415(content_type: str) -> None:
    with pytest.raises(ApiError) as refused:
        require_media_type(content_type)
    assert (refused.value.status, refused.value.code) == (415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    "content_type",
    ["", "application/json", "Application/JSON; charset=UTF-8", "application/problem+json"],
)
def test_require_media_type_when_json_or_absent_then_accepted(content_type: str) -> None:
    require_media_type(content_type)


def test_array_elements_splits_top_level_only_and_respects_strings() -> None:
    data = b' [ {"a": [1, 2]}, "x,]\\"y", 3 ] '
    assert array_elements(data) == [b' {"a": [1, 2]}', b' "x,]\\"y"', b" 3 "]
    assert array_elements(b'{"a": 1}') is None


RECORD = b'{"ts": "2026-11-21T14:30:00Z", "symbol": "AAPL", "signal": "news", "value": 0.25}'


@pytest.mark.parametrize(
    ("data", "lines", "record"),
    [
        (b"[" + RECORD + b"," + DEEP + b"]", False, 1),
        (RECORD + b"\n" + RECORD + b"\n" + RECORD.replace(b"0.25", DEEP), True, 2),
        (b"[" + RECORD + b"," + RECORD + b"," + RECORD.replace(b"news", b"\xff") + b"]", False, 2),
    ],
    ids=["deep_element", "deep_line", "not_utf8_element"],
)
def test_parse_alt_body_when_record_unreadable_then_invalid_alt_record_names_it(
    data: bytes, lines: bool, record: int
) -> None:
    with pytest.raises(AltBodyRefused) as refused:
        parse_alt_body(data, lines=lines)
    assert (refused.value.status, refused.value.code) == (422, "INVALID_ALT_RECORD")
    assert f"record {record}:" in str(refused.value)
