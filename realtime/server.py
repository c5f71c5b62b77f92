"""Run the realtime service: `python -m realtime.server [--server uvicorn|granian]`.

One process, one event loop: all trading state lives in that loop, so the
server always runs a single worker. uvicorn with uvloop and httptools is the
default (see BENCHMARKS.md for the comparison with granian). SIGTERM and
Ctrl-C stop accepting, drain the venue queue and flush the journal.

Start-up checks, in this order, and stops at the first stage that fails with
one line per problem on stderr (no traceback; `--log-level DEBUG` logs it) and
an exit status a supervisor can tell apart (`ExitStatus`):

1. settings and config files, all problems at once  -> 78 (EX_CONFIG)
2. the listening socket, bound before the journal is opened, so a second
   instance on a taken port never touches anything   -> 69 (EX_UNAVAILABLE)
3. the application's start-up (journal open and replay, engine) -> 70 (EX_SOFTWARE)

Once the socket is bound the server prints, on stdout,
`tradepipe-realtime: instance ID listening on http://HOST:PORT (pid N)`; `GET
/health` answers the same instance id, so whoever started the process can tell
it from anything else that answers on that port. `TRADEPIPE_PORT=0` takes any
free port, which that line reports.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import TYPE_CHECKING, Final, TypeVar

from realtime.config import load_service_config
from realtime.config_errors import ConfigError, ConfigProblem
from realtime.logs import configure_logging
from realtime.settings import ServiceSettings, log_level

if TYPE_CHECKING:
    from realtime.api.middleware import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

T = TypeVar("T")

PREFIX: Final = "tradepipe-realtime:"
LISTEN_BACKLOG: Final = 4096


class ExitStatus(IntEnum):
    OK = 0
    USAGE = 2  # argparse's own status for a bad command line
    ADDRESS_UNAVAILABLE = 69  # EX_UNAVAILABLE: cannot listen on host:port (in use, not allowed)
    START_FAILED = 70  # EX_SOFTWARE: the app did not start (journal refused, ...)
    BAD_CONFIG = 78  # EX_CONFIG: settings or config files refused


def run_uvicorn(settings: ServiceSettings, sock: socket.socket) -> ExitStatus:
    import uvicorn

    from realtime.api.http_protocol import ConnectionGuard, guarded_protocol
    from realtime.app import create_app

    app = StartupWatch(create_app(settings))
    # Slow or half-sent requests are cut off and open connections capped below the app
    # (realtime/api/http_protocol.py): httptools, with one deadline sweep for the server.
    guard = ConnectionGuard(settings.http_read_timeout_s, settings.http_max_connections)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=guarded_protocol(guard),
        ws="websockets",
        lifespan="on",
        interface="asgi3",  # said, not guessed: StartupWatch.__call__ is a plain def
        access_log=False,  # the app logs each request itself, as JSON with its request id
        # No proxy sits in front of the service and nothing reads the client address;
        # uvicorn's X-Forwarded-For rewrite parsed the peer's IP on every request (and let
        # any local client claim another address).
        proxy_headers=False,
        log_config=None,
        timeout_graceful_shutdown=10,
        backlog=LISTEN_BACKLOG,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[sock])
    # A SIGTERM ends run() by raising SystemExit(0) from _exit_cleanly; returning here
    # means uvicorn gave up on its own, and it does that only when start-up failed.
    if app.failure is not None:
        return report_failure(app.failure)
    if not server.started:
        return report_failure(RuntimeError("the server stopped during start-up"))
    return ExitStatus.OK


def _exit_cleanly(signum: int, frame: object) -> None:
    # uvicorn re-raises the SIGTERM (or SIGINT) it handled once its graceful shutdown is
    # done; with this handler in place that ends the process with status 0, not by the
    # signal. Installed first thing, it also makes a stop during start-up a clean exit.
    raise SystemExit(ExitStatus.OK)


def run_granian(settings: ServiceSettings) -> ExitStatus:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    Granian(
        "realtime.server:create_granian_app",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=1,
        loop=Loops.uvloop,
        log_enabled=False,
        backlog=LISTEN_BACKLOG,
    ).serve()
    return ExitStatus.OK


def create_granian_app() -> ASGIApp:
    """granian's factory: the app, printing its one-line start-up failure itself (granian
    runs it in a worker and then exits with its own status, 1)."""
    from realtime.app import create_app

    return StartupWatch(create_app(ServiceSettings.from_env()), report=True)


class StartupWatch:
    """Passes everything through to the app and remembers why its lifespan start-up
    failed, so main() can print one line instead of Starlette's traceback."""

    def __init__(self, app: ASGIApp, *, report: bool = False) -> None:
        self.app = app
        self.report = report
        self.failure: BaseException | None = None

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not `async def`: a request gets the app's own coroutine, not one more around it
        # (the wrapper then costs one function call per request, 0.3-0.4 us here).
        if scope["type"] != "lifespan":
            return self.app(scope, receive, send)
        return self._lifespan(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "lifespan.startup.complete":
                started = True
            elif message["type"] == "lifespan.startup.failed":
                message = {**message, "message": ""}  # the traceback: logged at DEBUG instead
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except BaseException as exc:
            if not started:
                self.failure = exc
                if self.report:
                    report_failure(exc)
            raise


# --- reporting -------------------------------------------------------------------------


def say(line: str) -> None:
    print(f"{PREFIX} {line}", file=sys.stderr, flush=True)


def report_config(exc: ConfigError) -> ExitStatus:
    for line in exc.lines():
        say(f"config error: {line}")
    return ExitStatus.BAD_CONFIG


def report_failure(exc: BaseException) -> ExitStatus:
    if isinstance(exc, ConfigError):
        return report_config(exc)
    log.debug("start-up failed", exc_info=exc)
    detail = " ".join(str(exc).split()) or "no detail"
    say(f"start-up failed: {type(exc).__name__}: {detail}")
    return ExitStatus.START_FAILED


# --- the socket ------------------------------------------------------------------------


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, before anything else starts: a taken port stops
    the start-up here, before the journal is opened. Listening at once (not only binding)
    claims the port atomically; connections made during start-up wait in the backlog."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ConfigError(
            [ConfigProblem("environment", "TRADEPIPE_HOST", f"cannot resolve {host!r}: {exc}")]
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        # Lets a restart bind while the last run's connections sit in TIME_WAIT; Linux
        # still refuses the bind while any other socket listens on the address.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# --- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> ExitStatus:
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--host", help="bind address (default 127.0.0.1, TRADEPIPE_HOST)")
    parser.add_argument("--port", type=int, help="port (default 8000, TRADEPIPE_PORT)")
    parser.add_argument("--log-level", help="DEBUG, INFO (default), ... (TRADEPIPE_LOG_LEVEL)")
    args = parser.parse_args(argv)
    # Settings travel by environment so that a server importing the app by name sees them.
    if args.host:
        os.environ["TRADEPIPE_HOST"] = args.host
    if args.port is not None:
        os.environ["TRADEPIPE_PORT"] = str(args.port)
    problems: list[ConfigProblem] = []
    level = _collect(problems, lambda: _log_level(args.log_level))
    settings = _collect(problems, ServiceSettings.from_env)
    if settings is not None:
        _collect(problems, lambda: _load_config(settings))
    if problems or level is None or settings is None:
        return report_config(ConfigError(problems))
    try:
        sock = listen(settings.host, settings.port)
    except ConfigError as exc:
        return report_config(exc)
    except OSError as exc:
        say(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc} "
            "(another tradepipe or another program has it? choose --port / TRADEPIPE_PORT)"
        )
        return ExitStatus.ADDRESS_UNAVAILABLE
    configure_logging(level)
    print(
        f"{PREFIX} instance {settings.instance_id} listening on {url_of(sock)} (pid {os.getpid()})",
        flush=True,
    )
    try:
        if args.server == "granian":
            # granian binds for itself: hand the port over (the one we got, if it was 0).
            port = sock.getsockname()[1]
            sock.close()
            os.environ["TRADEPIPE_PORT"] = str(port)
            os.environ["TRADEPIPE_INSTANCE_ID"] = settings.instance_id
            return run_granian(ServiceSettings.from_env())
        return run_uvicorn(settings, sock)
    except ConfigError as exc:  # a config file changed between the check and the app
        return report_config(exc)


def _load_config(settings: ServiceSettings) -> None:
    load_service_config(settings.instruments_path, settings.limits_path, settings.accounts_path)
    settings.layout.create()


def _collect(problems: list[ConfigProblem], load: Callable[[], T]) -> T | None:
    try:
        return load()
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None


def _log_level(argument: str | None) -> str:
    source, where, value = (
        ("command line", "--log-level", argument)
        if argument is not None
        else ("environment", "TRADEPIPE_LOG_LEVEL", os.environ.get("TRADEPIPE_LOG_LEVEL", "INFO"))
    )
    try:
        return log_level(value)
    except ValueError as exc:
        raise ConfigError([ConfigProblem(source, where, str(exc))]) from None


if __name__ == "__main__":
    sys.exit(main())
