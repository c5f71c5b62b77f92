"""The launcher's control endpoint: how a process the launcher did not start (a
validation run, in a Dagster run worker) asks it to restart the realtime service.

The launcher owns the service's process (`realtime.service_process`), so only it can
stop and start it without the platform going down with it. While it runs it serves
this endpoint on 127.0.0.1 (a free port) and writes, into `DataLayout.launcher_control`
(mode 0600, removed when it stops), the endpoint's URL, a random token and its pid:

    GET  /service          200 {"instance": id, "url": the service's URL}
    POST /service/restart  body {"timeout_s": s}: stop the service, start it again on the
                           same data and port, wait until /ready (at most s); then
                           200 {"instance": new id, "url": ..., "restart_s": ...}, or
                           503 {"error": why} when it did not come back in time
    401 without `Authorization: Bearer <token>`, 404 any other path.

The HTTP thread only hands each request to the launcher's main loop (`requests`) and
waits for its answer: the children stay owned by one thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import httpx

HOST: Final = "127.0.0.1"  # loopback only: the endpoint can stop trading for a while
STATUS_PATH: Final = "/service"
RESTART_PATH: Final = "/service/restart"
# the most a caller may ask the launcher to wait for the restarted service
MAX_RESTART_S: Final = 300.0
# the only body is {"timeout_s": n}
MAX_BODY_BYTES: Final = 1024


class ControlError(RuntimeError):
    """The launcher could not be asked, or the restart did not bring the service back."""


@dataclass
class Request:
    """One request for the launcher's main loop; `answer` wakes the HTTP thread."""

    kind: str  # "status" or "restart"
    timeout_s: float = 0.0
    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)

    def answer(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body
        self.done.set()


class ControlServer:
    """The endpoint (see the module docstring), its file written while it serves."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.token = secrets.token_urlsafe(24)
        self.requests: queue.Queue[Request] = queue.Queue()
        self._httpd = ThreadingHTTPServer((HOST, 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="launcher-control", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def start(self) -> None:
        self._thread.start()
        _write_private(self.path, {"url": self.url, "token": self.token, "pid": os.getpid()})

    def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._httpd.shutdown()
        self._httpd.server_close()
        # a caller still waiting is told, rather than left to its timeout
        while True:
            try:
                self.requests.get_nowait().answer(503, {"error": "the launcher is stopping"})
            except queue.Empty:
                return


def _write_private(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(document, fh)
    os.replace(tmp, path)


def _handler(server: ControlServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # the launcher logs what it does with a request, not the request line

        def do_GET(self) -> None:  # http.server names its handlers so
            self._serve(STATUS_PATH, lambda _: Request("status"))

        def do_POST(self) -> None:
            self._serve(RESTART_PATH, self._restart)

        def _restart(self, body: Any) -> Request:
            if not isinstance(body, dict):
                raise ValueError('the body must be a JSON object {"timeout_s": seconds}')
            timeout = body.get("timeout_s")
            if (
                isinstance(timeout, bool)  # JSON true is not a number of seconds
                or not isinstance(timeout, (int, float))
                or not 0 < timeout <= MAX_RESTART_S
            ):
                raise ValueError(f"timeout_s must be a number in (0, {MAX_RESTART_S:g}]")
            return Request("restart", float(timeout))

        def _serve(self, path: str, make: Callable[[Any], Request]) -> None:
            if self.path != path:
                return self._send(404, {"error": f"no {self.command} {self.path}"})
            if not secrets.compare_digest(
                self.headers.get("Authorization", ""), f"Bearer {server.token}"
            ):
                return self._send(401, {"error": "missing or wrong token"})
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return self._send(400, {"error": "Content-Length is not a number"})
            if not 0 <= length <= MAX_BODY_BYTES:
                # read nothing: a negative length would read to EOF, a huge one hold memory
                return self._send(413, {"error": f"a body of 0..{MAX_BODY_BYTES} bytes"})
            try:
                raw = self.rfile.read(length) if length else b"{}"
                request = make(json.loads(raw) if raw.strip() else {})
            except (ValueError, TypeError, RecursionError) as exc:  # Recursion: deep nesting
                return self._send(400, {"error": str(exc)})
            server.requests.put(request)
            # the main loop answers every request, or close() does
            request.done.wait()
            return self._send(request.status, request.body)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@dataclass(frozen=True)
class LauncherControl:
    """The client: a launcher that is running, found from its file."""

    url: str
    token: str
    pid: int

    @classmethod
    def find(cls, path: Path) -> LauncherControl | None:
        """The launcher whose file is at `path`; None when there is no file, or its
        launcher is gone (killed, so it could not remove it)."""
        try:
            document = json.loads(path.read_text())
            found = cls(str(document["url"]), str(document["token"]), int(document["pid"]))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise ControlError(f"{path}: not a launcher control file ({exc})") from exc
        try:
            os.kill(found.pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, someone else's
        return found

    def _call(
        self, method: str, path: str, wait_s: float, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            response = httpx.request(
                method,
                f"{self.url}{path}",
                headers={"Authorization": f"Bearer {self.token}"},
                json=body,
                timeout=wait_s,
            )
        except httpx.HTTPError as exc:
            raise ControlError(f"the launcher (pid {self.pid}) at {self.url}: {exc!r}") from exc
        try:
            answer = response.json()
        except ValueError as exc:
            raise ControlError(
                f"the launcher at {self.url} answered {response.status_code}, not JSON"
            ) from exc
        if not isinstance(answer, dict):
            raise ControlError(f"the launcher at {self.url} answered {answer!r}, not an object")
        if response.status_code != 200:
            raise ControlError(
                f"the launcher answered {response.status_code}: {answer.get('error', answer)}"
            )
        return answer

    def status(self, timeout_s: float = 5.0) -> dict[str, Any]:
        """{"instance", "url"} of the service the launcher runs now."""
        return self._call("GET", STATUS_PATH, timeout_s)

    def restart(self, timeout_s: float) -> str:
        """Restart the service and wait (at most timeout_s, plus the stop) until the
        launcher says it is ready again; its URL."""
        # the launcher's own stop grace comes on top of the ready deadline it is given
        answer = self._call("POST", RESTART_PATH, timeout_s + 30.0, {"timeout_s": timeout_s})
        return str(answer["url"])
