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
costs two attribute writes and a clock read. The class replaces uvicorn's
`on_response_complete` (the keep-alive timer it arms is the sweep's job here), so it
follows the uvicorn version pinned in uv.lock.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any

import msgspec
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
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
