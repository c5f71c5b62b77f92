"""Which exception becomes which problem response: one table for every route."""

from __future__ import annotations

import math

from starlette.responses import Response

from realtime.altdata import AltBodyRefused
from realtime.engine import EngineFailed, InvalidReplace, OrderNotFound, ReplaceRefused
from realtime.limits import LimitsError
from realtime.oms import IllegalTransition
from realtime.venue import VenueQueueFull

from .problems import ApiError, BodyTooLarge, from_api_error, problem_response

HANDLED: tuple[type[Exception], ...] = (
    ApiError,
    OrderNotFound,
    IllegalTransition,
    VenueQueueFull,
    ReplaceRefused,
    InvalidReplace,
    EngineFailed,
    LimitsError,
    BodyTooLarge,
    AltBodyRefused,
)


def problem_for(exc: Exception) -> Response | None:
    """The problem+json response for a known exception, or None for an unexpected one."""
    match exc:
        case ApiError():
            return from_api_error(exc)
        case OrderNotFound():
            return problem_response(404, exc.code, str(exc))
        case IllegalTransition():
            return problem_response(409, exc.code, str(exc))
        case VenueQueueFull():
            retry = str(max(1, math.ceil(exc.retry_after_s)))
            return problem_response(
                429, "VENUE_QUEUE_FULL", str(exc), headers={"Retry-After": retry}
            )
        case ReplaceRefused():
            return problem_response(422, exc.rejection.reason.value, exc.rejection.detail)
        case InvalidReplace():
            return problem_response(422, exc.code, str(exc))
        case EngineFailed():
            return problem_response(503, exc.code, str(exc), headers={"Retry-After": "5"})
        case LimitsError():
            return problem_response(422, exc.code, str(exc))
        case AltBodyRefused():
            return problem_response(exc.status, exc.code, str(exc))
        case BodyTooLarge():
            return problem_response(
                413, "BODY_TOO_LARGE", str(exc), headers={"Connection": "close"}
            )
    return None
