"""GET / (the trading page) and its static assets under /ui."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles

from realtime.web.docs import install_docs

STATIC_DIR: Final = Path(__file__).parent / "static"
INDEX_HTML: Final = STATIC_DIR / "index.html"

# The browser is told to load nothing from anywhere but this service: a stray CDN link
# or outside font fails loudly in development instead of silently needing internet.
# ('self' covers ws:// to the same host and port in CSP Level 3 browsers.)
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def install_web(app: FastAPI) -> None:
    """Mount the page and its assets on the service's app (outside the OpenAPI document)."""

    async def index() -> FileResponse:
        return FileResponse(INDEX_HTML, media_type="text/html", headers=PAGE_HEADERS)

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    app.mount("/ui", StaticFiles(directory=STATIC_DIR), name="ui")
    install_docs(app)
