"""An open-loop HTTP/1.1 load generator (no coordinated omission).

Requests are due at fixed intervals (rate); each one's latency is measured from
its *intended* send time, so a slow server is charged for the queueing it
causes instead of silently slowing the generator down (what a closed-loop tool
like plain wrk measures). A pacing thread sleeps with nanosecond timers and
hands each due request to the event loop, because asyncio timers have only
millisecond resolution; the loop writes on keep-alive connections and parses
responses with no HTTP library in the way, so the generator stays cheap next
to the server on a 2-core machine. Connections are a pool: a request due while
every connection is busy waits for one, and that wait is part of its latency.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

RequestFactory = Callable[[int], bytes]


@dataclass
class LoadResult:
    rate: float
    seconds: float
    sent: int = 0
    ok: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ns: list[int] = field(default_factory=list)  # from intended send time
    send_lag_ns: list[int] = field(default_factory=list)  # actual minus intended send time
    unfinished: int = 0


class _Connection(asyncio.Protocol):
    def __init__(self, on_free: Callable[[_Connection], None], result: LoadResult) -> None:
        self.on_free = on_free
        self.result = result
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.intended_ns = 0
        self.busy = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def send(self, request: bytes, intended_ns: int) -> None:
        assert self.transport is not None
        self.busy = True
        self.intended_ns = intended_ns
        self.result.send_lag_ns.append(time.perf_counter_ns() - intended_ns)
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        length = 0
        start = head.find(b"content-length:")
        if start >= 0:
            line_end = head.find(b"\r\n", start)
            length = int(head[start + 15 : line_end if line_end >= 0 else None])
        if len(self.buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        del self.buffer[: end + 4 + length]
        result = self.result
        result.latencies_ns.append(time.perf_counter_ns() - self.intended_ns)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            result.ok += 1
        else:
            result.errors += 1
        self.busy = False
        self.on_free(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy:
            self.result.errors += 1
            self.busy = False
        if not self.closed.done():
            self.closed.set_result(None)


async def run_open_loop(
    host: str,
    port: int,
    make_request: RequestFactory,
    *,
    rate: float,
    seconds: float,
    connections: int = 64,
    drain_timeout_s: float = 10.0,
) -> LoadResult:
    loop = asyncio.get_running_loop()
    result = LoadResult(rate=rate, seconds=seconds)
    idle: deque[_Connection] = deque()
    backlog: deque[tuple[int, int]] = deque()  # (request number, intended ns)
    total = int(rate * seconds)
    finished = loop.create_future()

    def on_free(conn: _Connection) -> None:
        if backlog:
            n, intended = backlog.popleft()
            conn.send(make_request(n), intended)
        else:
            idle.append(conn)
        if result.ok + result.errors >= total and not finished.done():
            finished.set_result(None)

    pool = []
    for _ in range(connections):
        _, conn = await loop.create_connection(lambda: _Connection(on_free, result), host, port)
        pool.append(conn)
        idle.append(conn)

    # Due requests pass from the pacer to the loop through `due`, with one wake-up of
    # the loop for however many are waiting: a wake-up per request (an eventfd write
    # and read, and a GIL hand-off) made the generator cost ~110 us of CPU per request,
    # CPU the server on the same two cores then lacked.
    due: deque[tuple[int, int]] = deque()
    wake_pending = False

    def dispatch_due() -> None:
        nonlocal wake_pending
        wake_pending = False  # before draining: a request queued after this gets a wake-up
        while due:
            n, intended_ns = due.popleft()
            result.sent += 1
            if idle:
                idle.popleft().send(make_request(n), intended_ns)
            else:
                backlog.append((n, intended_ns))

    def pace() -> None:
        nonlocal wake_pending
        interval_ns = int(1e9 / rate)
        start = time.perf_counter_ns() + 20_000_000
        for n in range(total):
            intended = start + n * interval_ns
            delay = intended - time.perf_counter_ns()
            if delay > 0:
                time.sleep(delay / 1e9)
            due.append((n, intended))
            if not wake_pending:
                wake_pending = True
                loop.call_soon_threadsafe(dispatch_due)

    pacer = threading.Thread(target=pace, name="pacer", daemon=True)
    pacer.start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(finished, timeout=seconds + drain_timeout_s + 1.0)
    pacer.join(timeout=1.0)
    result.unfinished = total - (result.ok + result.errors)
    result.errors += result.unfinished
    for conn in pool:
        if conn.transport is not None:
            conn.transport.close()
    return result
