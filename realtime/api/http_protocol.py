"""uvicorn's httptools protocol with a read deadline per connection and a connection cap.

uvicorn closes an idle keep-alive connection, but a client that sends half a request
(headers without their end, or `Content-Length: 500` and 26 bytes) is held open for
ever, and nothing bounds how many connections are open. Here:

- a request's head and body must arrive within `read_timeout_s` of its first byte,
  else the client gets 408 `REQUEST_TIMEOUT` (problem+json) and the connection is
  closed; a connection with no request in progress (new, or keep-alive between
  requests) is closed silently after as long. While the app works on a complete
  request there is no deadline: a slow journal is the service's problem, not the
  client's.
- beyond `max_connections` open HTTP connections a new one is answered 503
  `TOO_MANY_CONNECTIONS` (with Retry-After) and closed, so the ones already open keep
  their service. WebSocket connections leave the count when they upgrade.

One timer per server (`ConnectionGuard`) sweeps every connection's deadline a few
times per timeout, instead of a timer armed and cancelled on every request: a request
costs two attribute writes and a clock read.

A response with a Content-Length leaves in one write (`CoalescingCycle`): uvicorn writes
the status line and headers, then the body, as two sends, which on loopback are two
syscalls and two TCP segments the client wakes up for (a write was a fifth of the
loop's CPU per order; BENCHMARKS.md, "perf").

The classes replace uvicorn's `on_headers_complete` (to build our cycle) and
`on_response_complete` (the keep-alive timer it arms is the sweep's job here), so they
follow the uvicorn version pinned in uv.lock.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from http import HTTPStatus
from typing import Any

import httptools
import msgspec
from uvicorn._types import ASGISendEvent
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from .problems import PROBLEM_TYPE, Problem

log = logging.getLogger(__name__)


def problem_bytes(status: int, code: str, detail: str, extra_headers: bytes = b"") -> bytes:
    """A whole HTTP/1.1 problem+json answer that closes the connection, for answers sent
    below the ASGI app (there is no request, or no complete one, to route)."""
    body = msgspec.json.encode(
        Problem(
            type=f"urn:tradepipe:problem:{code.lower().replace('_', '-')}",
            title=HTTPStatus(status).phrase,
            status=status,
            code=code,
            detail=detail,
        )
    )
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
        f"content-type: {PROBLEM_TYPE}\r\ncontent-length: {len(body)}\r\nconnection: close\r\n"
    ).encode()
    return head + extra_headers + b"\r\n" + body


class ConnectionGuard:
    """The open HTTP connections of one server, their deadlines, and the one sweep."""

    def __init__(self, read_timeout_s: float, max_connections: int) -> None:
        self.read_timeout_s = read_timeout_s
        self.max_connections = max_connections
        self.interval_s = min(max(read_timeout_s / 4, 0.05), 1.0)
        self.open: set[GuardedHttpToolsProtocol] = set()
        self.timed_out = 0
        self.refused = 0
        self._sweep: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def admit(self, connection: GuardedHttpToolsProtocol) -> bool:
        if len(self.open) >= self.max_connections:
            self.refused += 1
            return False
        self.open.add(connection)
        if self._sweep is None:
            self._loop = connection.loop
            self._sweep = self._loop.call_later(self.interval_s, self.sweep)
        return True

    def release(self, connection: GuardedHttpToolsProtocol) -> None:
        self.open.discard(connection)

    def sweep(self) -> None:
        assert self._loop is not None
        now = self._loop.time()
        expired = [c for c in self.open if c.deadline is not None and c.deadline <= now]
        for connection in expired:
            self.timed_out += 1
            connection.time_out()
        self._sweep = self._loop.call_later(self.interval_s, self.sweep) if self.open else None


class _HeadBuffer:
    """Stands in for the transport while uvicorn writes a response head: keeps the bytes."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


class CoalescingCycle(RequestResponseCycle):
    """uvicorn's request/response cycle, with the head held back and sent with the first
    body write. uvicorn still builds and checks the head and counts the body against its
    Content-Length; only the number of writes changes."""

    head: bytes | None = None

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "http.response.start" and not self.response_started:
            transport, buffer = self.transport, _HeadBuffer()
            self.transport = buffer  # type: ignore[assignment]
            try:
                await super().send(message)
            finally:
                self.transport = transport
            self.head = buffer.data or None
            return
        head = self.head
        if head is not None:
            self.head = None
            if (
                message["type"] == "http.response.body"
                and not self.chunked_encoding
                and self.scope["method"] != "HEAD"
                and not self.disconnected
            ):
                # The head rides in the body write; uvicorn's length count allows for it.
                self.expected_content_length += len(head)
                await super().send({**message, "body": head + message.get("body", b"")})
                return
            if not self.disconnected:
                self.transport.write(head)
        await super().send(message)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    guard: ConnectionGuard  # set on the subclass `guarded_protocol` makes

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.deadline: float | None = None
        self.mid_request = False
        self.admitted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.guard.admit(self):
            log.warning("connection refused: %d connections open", len(self.guard.open))
            transport.write(
                problem_bytes(
                    503,
                    "TOO_MANY_CONNECTIONS",
                    f"the server holds at most {self.guard.max_connections} connections",
                    b"retry-after: 1\r\n",
                )
            )
            transport.close()
            return
        self.admitted = True
        self.deadline = self.loop.time() + self.guard.read_timeout_s

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.release(self)
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        self.guard.release(self)
        self.deadline = None
        super().handle_websocket_upgrade()

    def on_headers_complete(self) -> None:
        # uvicorn's own, building a CoalescingCycle instead of a RequestResponseCycle.
        http_version = self.parser.get_http_version()
        method = self.parser.get_method()
        self.scope["method"] = method.decode("ascii")
        if http_version != "1.1":
            self.scope["http_version"] = http_version
        if self.parser.should_upgrade() and self._should_upgrade():
            return
        parsed_url = httptools.parse_url(self.url)
        raw_path = parsed_url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        self.scope["path"] = self.root_path + path
        self.scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        self.scope["query_string"] = parsed_url.query or b""
        app = self.app
        if self.limit_concurrency is not None and (
            len(self.connections) >= self.limit_concurrency
            or len(self.tasks) >= self.limit_concurrency
        ):
            app = service_unavailable
            self.logger.warning("Exceeded concurrency limit.")
        existing_cycle = self.cycle
        self.cycle = CoalescingCycle(
            scope=self.scope,
            transport=self.transport,
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=self.expect_100_continue,
            keep_alive=http_version != "1.0",
            on_response=self.on_response_complete,
        )
        if existing_cycle is None or existing_cycle.response_complete:
            self._start_asgi_task(self.cycle, app)
        else:  # pipelined: queued behind the one in progress
            self.flow.pause_reading()
            self.pipeline.appendleft((self.cycle, app))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.mid_request = True
        self.deadline = self.loop.time() + self.guard.read_timeout_s

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.mid_request = False
        self.deadline = None

    def on_response_complete(self) -> None:
        # uvicorn's own, less its keep-alive timer: the guard's deadline does that job.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif not self.mid_request:
            self.deadline = self.loop.time() + self.guard.read_timeout_s

    def time_out(self) -> None:
        self.deadline = None
        if self.transport.is_closing():
            return
        if self.mid_request and (self.cycle is None or not self.cycle.response_started):
            self.transport.write(
                problem_bytes(
                    408,
                    "REQUEST_TIMEOUT",
                    f"the request did not arrive within {self.guard.read_timeout_s:g} s",
                )
            )
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app, if it runs, sees a disconnect
            self.cycle.message_event.set()
        self.transport.close()


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedHttpToolsProtocol]:
    """The protocol class for one server (uvicorn takes a class, and builds one protocol
    per connection with its own arguments)."""
    return type("GuardedHttpTools", (GuardedHttpToolsProtocol,), {"guard": guard})
