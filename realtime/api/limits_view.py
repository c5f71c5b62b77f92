"""GET /admin/limits: the risk limits in force, as each account gets them.

The trading page's admin view shows these next to the kill switch; the limits file
alone does not say what an account gets (its table overrides [default] field by field).
"""

from __future__ import annotations

import msgspec
from fastapi import APIRouter
from starlette.responses import Response

from realtime import queries
from realtime.queries import EffectiveLimits

from .admin import ADMIN_ERRORS
from .deps import Admin, Service, json_response, responses

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get(
    "/limits",
    summary="The risk limits in force: the default and each account's effective limits",
    responses=responses(_200=("Limits in force", EffectiveLimits), **ADMIN_ERRORS),
)
async def get_limits(admin: Admin, service: Service) -> Response:
    return json_response(queries.effective_limits(service.engine.state, service.accounts.accounts))


def openapi_components() -> dict[str, object]:
    """The schemas this module's responses name, for the app's OpenAPI document."""
    from .schemas import REF

    _, components = msgspec.json.schema_components((EffectiveLimits,), ref_template=REF)
    return components
