"""Run the realtime service as a child process: start it, wait until it is ready, stop it.

The one helper for everything that starts `python -m realtime.server` in its own
process: the launcher (`make run`), the benchmarks and the API tests.

Ready means, in this order: the child printed its `instance ID listening on URL`
line (so it holds the port; see `realtime.server`), `GET /health` on that URL
answers the same instance id (so what answers is this child, not another
process on the port), and `GET /ready` answers 200. A child that exits first
raises `ServiceExited` with its status and its own one-line error messages.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

from realtime.layout import PROJECT_ROOT
from realtime.server import PREFIX, ExitStatus

_ANNOUNCED: Final = re.compile(
    re.escape(PREFIX) + r" instance (?P<instance>\S+) listening on (?P<url>http://\S+)"
)


def clean_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's environment) without any `TRADEPIPE_*` setting, so
    a child's settings are only those its starter gives it, never the developer's."""
    source = os.environ if env is None else env
    return {k: v for k, v in source.items() if not k.startswith("TRADEPIPE_")}


def free_port() -> int:
    """A port nobody listens on right now (a test that must pick one itself, e.g. to
    occupy it; to start a service, pass port 0 and let it choose)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(host: str, port: int) -> bool:
    """Whether a listener could bind host:port now (the check the launcher makes first)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


class ServiceExited(RuntimeError):
    """The child exited before it was ready."""

    def __init__(self, status: int, errors: Sequence[str], tail: str) -> None:
        self.status = status
        self.errors = list(errors)
        meaning = _meaning(status)
        detail = "\n".join(self.errors) if self.errors else tail
        super().__init__(f"the realtime service exited with status {status}{meaning}\n{detail}")


class NotOurInstance(RuntimeError):
    """Something other than the child answers on the child's port."""


def _meaning(status: int) -> str:
    try:
        return f" ({ExitStatus(status).name})"
    except ValueError:
        return f" (signal {-status})" if status < 0 else ""


@dataclass
class ServiceProcess:
    process: subprocess.Popen[bytes]
    instance_id: str
    log_path: Path
    log_offset: int  # where this run's output starts in log_path (logs may be appended to)
    own_group: bool  # started in its own process group: stop the whole group
    url: str = ""  # known once the child announced itself
    _client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=2.0))

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1]) if self.url else 0

    def output(self) -> str:
        """What this run of the child has written (stdout and stderr) so far."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(self.log_offset)
                return fh.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def errors(self) -> list[str]:
        """The child's own one-line error messages (`tradepipe-realtime: ...`)."""
        return [
            line
            for line in self.output().splitlines()
            if line.startswith(PREFIX) and not _ANNOUNCED.match(line)
        ]

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def exited(self) -> ServiceExited | None:
        status = self.process.poll()
        return None if status is None else ServiceExited(status, self.errors(), self.tail())

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Return once this child is ready (see the module docstring), or raise
        ServiceExited, NotOurInstance or TimeoutError."""
        self._wait(timeout_s, need_ready=True)

    def wait_announced(self, timeout_s: float = 30.0) -> None:
        """Return once the child has printed its `listening on` line: its settings and
        config files passed and it holds its port (the journal may still be opening).
        Raises ServiceExited, NotOurInstance or TimeoutError."""
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        while not self._announced():
            if (exited := self.exited()) is not None:
                raise exited
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"the realtime service did not announce itself within {timeout_s} s\n"
                    f"{self.tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _announced(self) -> bool:
        if not self.url and (match := _ANNOUNCED.search(self.output())):
            if match["instance"] != self.instance_id:
                raise NotOurInstance(f"the child announced instance {match['instance']}")
            self.url = match["url"]
        return bool(self.url)

    def wait_answering(self, timeout_s: float = 30.0) -> None:
        """Like wait_ready, without waiting for /ready (whose market-data check fails
        once a replay file has been played to its end)."""
        self._wait(timeout_s, need_ready=False)

    def _wait(self, timeout_s: float, *, need_ready: bool) -> None:
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        last = "no announcement yet"
        while True:
            if (exited := self.exited()) is not None:
                raise exited
            if self._announced():
                try:
                    last = self._probe(need_ready)
                except httpx.TransportError as exc:
                    last = repr(exc)
                if last == "ready":
                    return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"the realtime service was not ready after {timeout_s} s ({last})\n"
                    f"{self.tail()}"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def _probe(self, need_ready: bool) -> str:
        health = self._client.get(f"{self.url}/health")
        instance = health.json().get("instance") if health.status_code == 200 else None
        if instance != self.instance_id:
            raise NotOurInstance(
                f"{self.url} is answered by instance {instance!r}, not by the child "
                f"{self.instance_id!r} (pid {self.process.pid}): another process has the port"
            )
        if not need_ready:
            return "ready"
        ready = self._client.get(f"{self.url}/ready")
        return "ready" if ready.status_code == 200 else f"{ready.status_code} {ready.text}"

    def signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if self.own_group:
                os.killpg(self.process.pid, signum)
            else:
                self.process.send_signal(signum)

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM, wait, then SIGKILL if it is still there; the exit status."""
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.process.wait(10)
        self._client.close()
        return self.process.returncode

    def kill(self) -> int:
        self.signal(signal.SIGKILL)
        status = self.process.wait(10)
        self._client.close()
        return status


def start_service(
    env: Mapping[str, str],
    log_path: Path,
    *,
    port: int = 0,
    server: str = "uvicorn",
    own_group: bool = False,
    instance_id: str | None = None,
) -> ServiceProcess:
    """Start `python -m realtime.server` with `env` (plus the port and an instance id),
    its stdout and stderr appended to `log_path`. Port 0: any free port."""
    instance_id = instance_id or secrets.token_hex(6)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        offset = log.tell()
        process = subprocess.Popen(
            [sys.executable, "-m", "realtime.server", "--server", server, "--port", str(port)],
            cwd=PROJECT_ROOT,
            env={**env, "TRADEPIPE_INSTANCE_ID": instance_id},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=own_group,
        )
    return ServiceProcess(process, instance_id, log_path, offset, own_group)


@contextlib.contextmanager
def running_service(
    env: Mapping[str, str],
    log_path: Path,
    *,
    port: int = 0,
    server: str = "uvicorn",
    ready_timeout_s: float = 30.0,
) -> Iterator[ServiceProcess]:
    """A ready service for the `with` block; stopped (SIGTERM, then SIGKILL) after it."""
    service = start_service(env, log_path, port=port, server=server)
    try:
        service.wait_ready(ready_timeout_s)
        yield service
    finally:
        service.stop()
