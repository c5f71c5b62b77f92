"""GET /admin/limits: the risk limits in force, as each account gets them.

The trading page's admin view shows these next to the kill switch; the limits file
alone does not say what an account gets (its table overrides [default] field by field).
"""

from __future__ import annotations

import msgspec
from fastapi import APIRouter
from starlette.responses import Response

from realtime.limits import AccountLimits

from .admin import ADMIN_ERRORS
from .deps import Admin, Service, json_response, responses

router = APIRouter(prefix="/admin", tags=["admin"])


class EffectiveLimits(msgspec.Struct):
    digest: str  # what POST /admin/limits/reload answers, to tell a reload took
    restricted_symbols: list[str]  # nobody may trade these
    default: AccountLimits  # for an account without its own table
    accounts: dict[str, AccountLimits]  # every account with an API key, overrides applied


@router.get(
    "/limits",
    summary="The risk limits in force: the default and each account's effective limits",
    responses=responses(_200=("Limits in force", EffectiveLimits), **ADMIN_ERRORS),
)
async def get_limits(admin: Admin, service: Service) -> Response:
    limits = service.engine.state.limits
    return json_response(
        EffectiveLimits(
            digest=limits.digest(),
            restricted_symbols=sorted(limits.restricted_symbols),
            default=limits.default,
            accounts={a: limits.for_account(a) for a in sorted(service.accounts.accounts)},
        )
    )


def openapi_components() -> dict[str, object]:
    """The schemas this module's responses name, for the app's OpenAPI document."""
    from .schemas import REF

    _, components = msgspec.json.schema_components((EffectiveLimits,), ref_template=REF)
    return components
