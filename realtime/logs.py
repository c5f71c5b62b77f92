"""Structured logs: one JSON object per line, carrying the request id when there is one.

Levels: each request is DEBUG (a busy desk sends thousands a minute; at INFO they
buried everything else and grew the log by 100 MB a day); errors, start-up and
state changes (trading state, limits, recovery) are INFO and above.

Files: with `TRADEPIPE_LOG_FILE` set (the launcher sets `data/logs/realtime.log`)
the service writes its log there itself and rotates it by size
(`LOG_MAX_BYTES`, with `LOG_BACKUPS` old files kept: `realtime.log.1` is the
newest; a relative path is relative to the project root, as every path
setting). Without it, logs go to stderr.
"""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import msgspec

from realtime.layout import resolve

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# repr: libraries attach odd objects to records (websockets a weakref proxy).
_encoder = msgspec.json.Encoder(enc_hook=repr)
# LogRecord attributes that are not user-supplied `extra=` fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured duplicate of msg
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        )
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _encoder.encode(entry).decode()


LOG_MAX_BYTES: Final = 10 * 1024 * 1024
LOG_BACKUPS: Final = 5


def rotating_file_handler(
    path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS
) -> logging.handlers.RotatingFileHandler:
    """A handler that appends to `path` and, past `max_bytes`, moves it to `path.1`
    (shifting older ones, keeping `backups` of them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return logging.handlers.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )


def configure_logging(level: str = "INFO", env: Mapping[str, str] | None = None) -> None:
    env = os.environ if env is None else env
    log_file = env.get("TRADEPIPE_LOG_FILE", "").strip()
    handler: logging.Handler = (
        rotating_file_handler(resolve(log_file)) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "granian", "_granian"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
