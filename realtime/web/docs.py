"""/docs (Swagger UI) with every asset served by the service itself.

FastAPI's default pages load their JavaScript, CSS and favicon from a CDN, so on a
machine without internet they are blank. The files come from the `fastapi-offline`
wheel; only its static folder is used, the app stays a plain FastAPI.

ReDoc is not kept: its bundle (3.x) always loads the Redocly logo from Redocly's CDN,
with no option to turn it off, and Swagger UI already shows every schema and can send
requests. /redoc redirects to /docs so an old link still lands somewhere useful.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles

DOCS_URL: Final = "/docs"
REDOC_URL: Final = "/redoc"
ASSETS_URL: Final = "/docs/assets"
OAUTH2_REDIRECT_URL: Final = "/docs/oauth2-redirect"

SWAGGER_UI_PARAMETERS: Final = {
    # Swagger UI otherwise sends the document to validator.swagger.io for a badge.
    "validatorUrl": None,
    "displayRequestDuration": True,
    "tryItOutEnabled": False,
    "persistAuthorization": False,  # the API key is not written to local storage
}


def docs_assets_dir() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the fastapi-offline package (the docs' assets) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def install_docs(app: FastAPI) -> None:
    """Needs the app built with docs_url=None and redoc_url=None (these replace them)."""
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API docs",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc() -> RedirectResponse:
        return RedirectResponse(DOCS_URL, status_code=308)

    for path, endpoint in (
        (DOCS_URL, swagger_ui),
        (OAUTH2_REDIRECT_URL, oauth2_redirect),
        (REDOC_URL, redoc),
    ):
        app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
    app.mount(ASSETS_URL, StaticFiles(directory=docs_assets_dir()), name="docs-assets")
