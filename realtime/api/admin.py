"""Admin actions: the kill switch and risk-limit reloads. Admin keys only; every change
is journaled with the admin's name."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from realtime import queries
from realtime.config import load_checked_limits
from realtime.limits import LimitsError
from realtime.queries import TradingStateView

from .bodies import decode_body
from .deps import Admin, Service, body_of, body_spec, json_response, responses
from .problems import ApiError, Problem
from .schemas import LimitsReloaded, TradingStateUpdate

router = APIRouter(prefix="/admin", tags=["admin"])

ADMIN_ERRORS = {
    "_401": ("Missing or unknown API key (UNAUTHENTICATED)", Problem),
    "_403": ("Not an admin key (ADMIN_REQUIRED)", Problem),
}


@router.get(
    "/trading-state",
    summary="The kill switch: global and per-account trading state",
    responses=responses(_200=("Trading states", TradingStateView), **ADMIN_ERRORS),
)
async def get_trading_state(admin: Admin, service: Service) -> Response:
    return json_response(queries.trading_states(service.engine.state))


@router.put(
    "/trading-state",
    summary="Set trading state ACTIVE, REDUCING (reduce-only) or HALTED, globally or per account",
    openapi_extra=body_spec(TradingStateUpdate),
    responses=responses(
        _200=("Trading states after the change", TradingStateView),
        _400=("Malformed JSON (MALFORMED_JSON)", Problem),
        _415=("The body is not declared as JSON (UNSUPPORTED_MEDIA_TYPE)", Problem),
        _404=("Unknown account (UNKNOWN_ACCOUNT)", Problem),
        _422=("Invalid field", Problem),
        **ADMIN_ERRORS,
    ),
)
async def set_trading_state(request: Request, admin: Admin, service: Service) -> Response:
    update = decode_body(await body_of(request), TradingStateUpdate)
    if update.account is not None and update.account not in service.accounts.accounts:
        raise ApiError(404, "UNKNOWN_ACCOUNT", f"unknown account {update.account!r}")
    await service.engine.set_trading_state(
        update.state, account=update.account, actor=admin, reason=update.reason
    )
    return json_response(queries.trading_states(service.engine.state))


@router.post(
    "/limits/reload",
    summary="Reload risk limits from the limits file",
    description="A file that fails validation is refused (INVALID_LIMITS); "
    "the running limits stay in force.",
    responses=responses(
        _200=("The limits in force", LimitsReloaded),
        _422=("The file is invalid (INVALID_LIMITS)", Problem),
        **ADMIN_ERRORS,
    ),
)
async def reload_limits(admin: Admin, service: Service) -> Response:
    try:
        limits = load_checked_limits(
            service.settings.limits_path, service.instruments, service.accounts
        )
    except LimitsError as exc:
        raise ApiError(422, exc.code, str(exc)) from None
    engine = service.engine
    digest = limits.digest()
    changed = digest != engine.state.limits_digest
    if changed:
        await engine.set_limits(limits, source=str(service.settings.limits_path), actor=admin)
    return json_response(LimitsReloaded(digest=digest, changed=changed))
