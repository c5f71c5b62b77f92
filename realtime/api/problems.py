"""Errors as RFC 9457 `application/problem+json`, each with a stable `code`.

Clients branch on `code`; `title` and `detail` are for people and may change.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import msgspec
from starlette.responses import Response

from realtime.logs import request_id_var

PROBLEM_TYPE = "application/problem+json"


class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    code: str
    detail: str
    request_id: str | None = None
    order: Any = None  # the order, for a risk rejection (it was journaled)
    suggestions: list[str] | None = None  # close matches, for UNKNOWN_SYMBOL


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        order: Any = None,
        suggestions: list[str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.headers = dict(headers or {})
        self.order = order
        self.suggestions = suggestions


class BodyTooLarge(Exception):
    """Raised while reading a body that exceeds the limit (a chunked one has no length)."""


_encoder = msgspec.json.Encoder()


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    order: Any = None,
    suggestions: list[str] | None = None,
) -> Response:
    body = Problem(
        type=f"urn:tradepipe:problem:{code.lower().replace('_', '-')}",
        title=HTTPStatus(status).phrase,
        status=status,
        code=code,
        detail=detail,
        request_id=request_id_var.get(),
        order=order,
        suggestions=suggestions,
    )
    return Response(
        _encoder.encode(body), status_code=status, headers=headers, media_type=PROBLEM_TYPE
    )


def from_api_error(exc: ApiError) -> Response:
    return problem_response(
        exc.status,
        exc.code,
        exc.detail,
        headers=exc.headers or None,
        order=exc.order,
        suggestions=exc.suggestions,
    )


def internal_error() -> Response:
    """The answer to an unexpected exception, on every stack: no detail leaks, the request
    id finds the logged traceback."""
    return problem_response(
        500, "INTERNAL_ERROR", "an unexpected error occurred; the request id is in the log"
    )
