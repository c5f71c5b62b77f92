"""The one place that wires the realtime service into an ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from realtime.api import admin, market, ops, trading
from realtime.api.middleware import ASGIApp, RequestContext
from realtime.api.problems import ApiError, from_api_error, problem_response
from realtime.api.schemas import openapi_components
from realtime.clock import Clock
from realtime.engine import EngineFailed, InvalidReplace, OrderNotFound, ReplaceRefused
from realtime.oms import IllegalTransition
from realtime.service import TradingService
from realtime.settings import ServiceSettings
from realtime.venue import VenueQueueFull

API_DESCRIPTION = """
Real-time order and risk service. Every acknowledged order is committed to the
journal before the answer is sent. Errors are `application/problem+json` with a
stable `code`. Authenticate with the `X-API-Key` header.
"""


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return from_api_error(exc)

    async def not_found(_: Request, exc: Exception) -> Response:
        return problem_response(404, exc.code, str(exc))  # type: ignore[attr-defined]

    async def illegal(_: Request, exc: Exception) -> Response:
        return problem_response(409, "ILLEGAL_TRANSITION", str(exc))

    async def queue_full(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, VenueQueueFull)
        retry = str(max(1, round(exc.retry_after_s + 0.5)))
        return problem_response(429, "VENUE_QUEUE_FULL", str(exc), headers={"Retry-After": retry})

    async def refused(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ReplaceRefused)
        return problem_response(422, exc.rejection.reason.value, exc.rejection.detail)

    async def invalid_replace(_: Request, exc: Exception) -> Response:
        return problem_response(422, "INVALID_REPLACE", str(exc))

    async def engine_failed(_: Request, exc: Exception) -> Response:
        return problem_response(503, "ENGINE_UNAVAILABLE", str(exc), headers={"Retry-After": "5"})

    async def invalid_query(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return problem_response(422, "INVALID_PARAMETER", problems)

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        return problem_response(
            exc.status_code,
            codes.get(exc.status_code, "HTTP_ERROR"),
            str(exc.detail),
            headers=exc.headers,
        )

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(OrderNotFound, not_found)
    app.add_exception_handler(IllegalTransition, illegal)
    app.add_exception_handler(VenueQueueFull, queue_full)
    app.add_exception_handler(ReplaceRefused, refused)
    app.add_exception_handler(InvalidReplace, invalid_replace)
    app.add_exception_handler(EngineFailed, engine_failed)
    app.add_exception_handler(RequestValidationError, invalid_query)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _install_openapi(app: FastAPI) -> None:
    """FastAPI's generated document plus the msgspec-declared schemas the routes use."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(openapi_components())
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: ServiceSettings | None = None, clock: Clock | None = None) -> ASGIApp:
    settings = settings or ServiceSettings.from_env()
    service = TradingService(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="tradepipe realtime",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = service
    for module in (trading, market, admin, ops):
        app.include_router(module.router)
    _install_error_handlers(app)
    _install_openapi(app)
    return RequestContext(
        app,
        max_body_bytes=settings.max_body_bytes,
        requests=service.metrics.http,
        log_requests=settings.access_log,
    )


def create_app_from_env() -> ASGIApp:
    """Factory for servers that import the app by name (granian, uvicorn --factory)."""
    return create_app(ServiceSettings.from_env())
