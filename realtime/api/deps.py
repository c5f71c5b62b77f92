"""Request-scoped helpers: the running service and who is calling."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from starlette.responses import Response

from realtime.accounts import Principal
from realtime.service import TradingService

from .bodies import Body
from .problems import ApiError

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="Per-account API key (an admin key for /admin endpoints)",
)

_encoder = msgspec.json.Encoder()


# Dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in
# a worker thread, a thread hop per dependency per request on the order path.
def service_of(request: Request) -> TradingService:
    service: TradingService = request.app.state.service
    return service


async def get_service(request: Request) -> TradingService:
    return service_of(request)


MISSING_KEY = "no API key: send your key in the X-API-Key header"
WRONG_KEY = "the X-API-Key header is not a known API key (check it, or ask for a new one)"


def authenticate(service: TradingService, api_key: str | None) -> Principal:
    """The key's principal; a missing and a wrong key are both 401 UNAUTHENTICATED, with
    different details so that a person can tell which it was."""
    principal = service.accounts.authenticate(api_key)
    if principal is None:
        raise ApiError(
            401,
            "UNAUTHENTICATED",
            WRONG_KEY if api_key else MISSING_KEY,
            headers={"WWW-Authenticate": 'ApiKey header="X-API-Key"'},
        )
    return principal


def trading_account(service: TradingService, api_key: str | None) -> str:
    """The account an API key trades for; admin keys do not trade."""
    principal = authenticate(service, api_key)
    if principal.is_admin:
        raise ApiError(403, "ACCOUNT_KEY_REQUIRED", "admin keys do not trade; use an account key")
    return principal.name


async def require_account(
    request: Request, api_key: Annotated[str | None, Security(api_key_header)]
) -> str:
    return trading_account(service_of(request), api_key)


async def require_principal(
    request: Request, api_key: Annotated[str | None, Security(api_key_header)]
) -> Principal:
    return authenticate(service_of(request), api_key)


async def require_admin(
    request: Request, api_key: Annotated[str | None, Security(api_key_header)]
) -> str:
    principal = authenticate(service_of(request), api_key)
    if not principal.is_admin:
        raise ApiError(403, "ADMIN_REQUIRED", "this action needs an admin key")
    return principal.name


Account = Annotated[str, Depends(require_account)]
Admin = Annotated[str, Depends(require_admin)]
AnyPrincipal = Annotated[Principal, Depends(require_principal)]
Service = Annotated[TradingService, Depends(get_service)]


async def body_of(request: Request) -> Body:
    return Body(await request.body(), request.headers.get("content-type", ""))


def json_response(value: object, status: int = 200) -> Response:
    return Response(_encoder.encode(value), status_code=status, media_type="application/json")


def body_spec(struct: type, description: str = "") -> dict[str, object]:
    """openapi_extra for a route that decodes its body itself (with msgspec)."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{struct.__name__}"}}
            },
        }
    }


def responses(**by_status: tuple[str, type | None]) -> dict[int | str, dict[str, object]]:
    """OpenAPI responses: status -> (description, body struct); errors are problem+json."""
    out: dict[int | str, dict[str, object]] = {}
    for key, (description, struct) in by_status.items():
        status = int(key.lstrip("_"))
        entry: dict[str, object] = {"description": description}
        if struct is not None:
            media = "application/problem+json" if status >= 400 else "application/json"
            entry["content"] = {
                media: {"schema": {"$ref": f"#/components/schemas/{struct.__name__}"}}
            }
        out[status] = entry
    return out
