"""A test-only fault switch: `TRADEPIPE_TEST_FAULT_500=/metrics,/ready` makes those
paths answer 500 INTERNAL_ERROR, so the validation suites can be shown to fail for the
right reason when an endpoint breaks (tests/assets/validation).

Why a switch in the service at all: a broken endpoint cannot be provoked from outside
without one, and a mock server would test the mock. It is kept tiny and outermost (it
answers before anything else runs; it changes no state). A production build refuses
it: the image sets TRADEPIPE_BUILD=production (deploy/Dockerfile), and with that a
set switch is a start-up error (status 78), never a silent fault.
"""

from __future__ import annotations

import json

from realtime.api.middleware import ASGIApp, Receive, Scope, Send


class FaultSwitch:
    def __init__(self, app: ASGIApp, paths: tuple[str, ...]) -> None:
        self.app, self.paths = app, frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Internal Server Error",
                "status": 500,
                "code": "INTERNAL_ERROR",
                "detail": "injected by TRADEPIPE_TEST_FAULT_500 (a test-only fault switch)",
            }
        ).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})
