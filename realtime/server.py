"""Run the realtime service: `python -m realtime.server [--server uvicorn|granian]`.

One process, one event loop: all trading state lives in that loop, so the
server always runs a single worker. uvicorn with uvloop and httptools is the
default (see BENCHMARKS.md for the comparison with granian). SIGTERM and
Ctrl-C stop accepting, drain the venue queue and flush the journal.
"""

from __future__ import annotations

import argparse
import os
import signal

from realtime.logs import configure_logging
from realtime.settings import ServiceSettings


def run_uvicorn(settings: ServiceSettings) -> None:
    import uvicorn

    from realtime.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        ws="websockets",
        lifespan="on",
        access_log=False,  # the app logs each request itself, as JSON with its request id
        log_config=None,
        timeout_graceful_shutdown=10,
        backlog=4096,
    )
    # uvicorn re-raises the SIGTERM it handled once its graceful shutdown is done; with
    # this handler in place that ends the process with status 0 instead of by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.Server(config).run()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_granian(settings: ServiceSettings) -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops

    Granian(
        "realtime.app:create_app_from_env",
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=1,
        loop=Loops.uvloop,
        log_enabled=False,
        backlog=4096,
    ).serve()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--host", help="bind address (default 127.0.0.1, TRADEPIPE_HOST)")
    parser.add_argument("--port", type=int, help="port (default 8000, TRADEPIPE_PORT)")
    parser.add_argument("--log-level", default=os.environ.get("TRADEPIPE_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    # Settings travel by environment so that a server importing the app by name sees them.
    if args.host:
        os.environ["TRADEPIPE_HOST"] = args.host
    if args.port is not None:
        os.environ["TRADEPIPE_PORT"] = str(args.port)
    configure_logging(args.log_level)
    settings = ServiceSettings.from_env()
    if args.server == "granian":
        run_granian(settings)
    else:
        run_uvicorn(settings)


if __name__ == "__main__":
    main()
