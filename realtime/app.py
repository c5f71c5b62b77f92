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

from realtime.api import admin, limits_view, market, ops, trading
from realtime.api.errors import HANDLED, problem_for
from realtime.api.fastpath import FastPath
from realtime.api.middleware import ASGIApp, RequestContext
from realtime.api.problems import internal_error, problem_response
from realtime.api.schemas import openapi_components
from realtime.clock import Clock
from realtime.service import TradingService
from realtime.settings import ServiceSettings
from realtime.web import install_web
from realtime.web.openapi_examples import add_request_examples

API_DESCRIPTION = """
Real-time order and risk service. Every acknowledged order is committed to the
journal before the answer is sent. Errors are `application/problem+json` with a
stable `code`. Authenticate with the `X-API-Key` header.
"""


def _install_error_handlers(app: FastAPI) -> None:
    async def known(_: Request, exc: Exception) -> Response:
        response = problem_for(exc)
        assert response is not None  # registered only for the types problem_for handles
        return response

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

    async def unexpected(_: Request, exc: Exception) -> Response:
        # Starlette's ServerErrorMiddleware sends this and re-raises; RequestContext then
        # logs the traceback (once, for every stack) and sees the answer already sent.
        return internal_error()

    for exception_type in HANDLED:
        app.add_exception_handler(exception_type, known)
    app.add_exception_handler(Exception, unexpected)
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
            schemas.update(limits_view.openapi_components())
            _document_parameter_errors(document)
            add_request_examples(document)  # "Try it out" sends a valid body (realtime/web)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_parameter_errors(document: dict[str, Any]) -> None:
    """Query and path parameter errors are problem+json INVALID_PARAMETER here, not
    FastAPI's default validation body: say so in the document."""
    invalid_parameter = {
        "description": "Invalid query or path parameter (INVALID_PARAMETER)",
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
    for item in document["paths"].values():
        for operation in item.values():
            default = operation.get("responses", {}).get("422", {})
            media = default.get("content", {}).get("application/json", {})
            if media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                operation["responses"]["422"] = invalid_parameter
    schemas = document["components"]["schemas"]
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)


def create_app(
    settings: ServiceSettings | None = None,
    clock: Clock | None = None,
    *,
    fast_path: bool | None = None,
    service: TradingService | None = None,
) -> ASGIApp:
    """The service's ASGI app. `fast_path` (default: the TRADEPIPE_FAST_PATH setting)
    serves the hottest routes from `realtime.api.fastpath`; off, FastAPI serves all.
    `service`: one built by the caller (a test driving its own clock and market)."""
    settings = settings or (service.settings if service else ServiceSettings.from_env())
    if fast_path is None:
        fast_path = settings.fast_path
    service = service or TradingService(settings, clock)

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
        docs_url=None,  # served offline by realtime.web.docs
        redoc_url=None,
    )
    app.state.service = service
    for module in (trading, market, admin, limits_view, ops):
        app.include_router(module.router)
    install_web(app)  # the trading page at / and the offline /docs (realtime/web)
    _install_error_handlers(app)
    _install_openapi(app)
    served = RequestContext(
        FastPath(app, service) if fast_path else app,
        max_body_bytes=settings.max_body_bytes,
        requests=service.metrics.http,
        log_requests=settings.access_log,
    )
    if settings.fault_500_paths:  # test-only: realtime/test_faults.py
        from realtime.test_faults import FaultSwitch

        return FaultSwitch(served, settings.fault_500_paths)
    return served


def create_app_from_env() -> ASGIApp:
    """Factory for servers that import the app by name (granian, uvicorn --factory)."""
    return create_app(ServiceSettings.from_env())
