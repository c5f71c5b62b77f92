"""Outermost ASGI layer: request ids, the body-size limit, access logs and HTTP metrics.

Written as plain ASGI (not BaseHTTPMiddleware) because it runs on every order
and must add microseconds, not tens of them.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from realtime.logs import request_id_var
from realtime.metrics import Counter

from .problems import BodyTooLarge, internal_error, problem_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("tradepipe.access")
log = logging.getLogger(__name__)

_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,64}$")


class RequestContext:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, requests: Counter, log_requests: bool
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.requests = requests
        self.log_requests = log_requests
        self._ids = itertools.count(1)
        self._prefix = f"{os.getpid():x}-{int(time.time()):x}-"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = None
        content_length = 0
        for name, value in scope["headers"]:
            if name == b"x-request-id" and _SAFE_REQUEST_ID.match(value):
                request_id = value.decode()
            elif name == b"content-length":
                content_length = int(value) if value.isdigit() else -1
        if request_id is None:
            request_id = self._prefix + str(next(self._ids))
        token = request_id_var.set(request_id)
        status = 0
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge(f"the body is limited to {self.max_body_bytes} bytes")
            return message

        try:
            if content_length > self.max_body_bytes or content_length < 0:
                await self._reject_body(send_with_id, content_length)
            else:
                await self.app(scope, limited_receive, send_with_id)
        except BodyTooLarge:
            if status == 0:
                await self._reject_body(send_with_id, received)
        except Exception:
            log.exception(
                "unhandled error", extra={"method": scope["method"], "path": scope.get("path")}
            )
            if status == 0:
                await internal_error()(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.requests.inc(scope["method"], template, str(status))
            # Successes log at DEBUG: formatting a record per order is a measurable share of
            # the request's CPU at thousands per second; errors stay visible at INFO.
            level = logging.DEBUG if 0 < status < 400 else logging.INFO
            if self.log_requests and access_log.isEnabledFor(level):
                access_log.log(
                    level,
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 3),
                    },
                )
            request_id_var.reset(token)

    async def _reject_body(self, send: Send, size: int) -> None:
        detail = (
            f"the body is limited to {self.max_body_bytes} bytes"
            if size >= 0
            else "invalid Content-Length"
        )
        code, status = ("BODY_TOO_LARGE", 413) if size >= 0 else ("INVALID_CONTENT_LENGTH", 400)
        response = problem_response(status, code, detail, headers={"Connection": "close"})
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
