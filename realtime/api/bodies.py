"""Request bodies in: one decoding function for every JSON body, and one Content-Type rule.

Every way the bytes can be bad (`realtime.json_input.NotJson`: syntax, invalid
UTF-8, nesting too deep) is 400 MALFORMED_JSON; well-formed JSON of the wrong
shape is 422; a declared non-JSON media type is 415 UNSUPPORTED_MEDIA_TYPE.
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import msgspec

from realtime.json_input import NotJson, parse_json

from .problems import ApiError

T = TypeVar("T")

JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")


class Body(NamedTuple):
    """A request body with its declared media type ("" when the client sent none)."""

    data: bytes
    content_type: str = ""


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_json_type(media: str) -> bool:
    return media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


def require_media_type(content_type: str, accepted: str = "application/json") -> None:
    """415 UNSUPPORTED_MEDIA_TYPE unless the declared type is JSON (or none is declared:
    a body without a Content-Type is read as JSON)."""
    if not content_type:
        return
    media = media_type(content_type)
    if is_json_type(media):
        charset = _charset(content_type)
        if charset in (None, "utf-8", "utf8"):
            return
        detail = f"JSON bodies are UTF-8; got charset {charset!r}"
    else:
        detail = f"expected {accepted}, got {media or content_type!r}"
    raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", detail)


def _charset(content_type: str) -> str | None:
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def decode_body(body: Body, type_: type[T]) -> T:
    """Check the media type, then decode and validate a JSON body: every failure is a 4xx
    with a stable code (415, 400 MALFORMED_JSON, 422 UNKNOWN_FIELD / INVALID_FIELD)."""
    require_media_type(body.content_type)
    if not body.data:
        raise ApiError(400, "MALFORMED_JSON", "the request body is empty; expected JSON")
    try:
        value: T = parse_json(body.data, type_)
    except NotJson as exc:
        raise ApiError(400, "MALFORMED_JSON", f"the body is {exc}") from None
    except msgspec.ValidationError as exc:
        message = str(exc)
        code = "UNKNOWN_FIELD" if "unknown field" in message else "INVALID_FIELD"
        raise ApiError(422, code, message) from None
    return value
