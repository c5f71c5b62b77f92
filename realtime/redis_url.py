"""The `TRADEPIPE_HOT_CACHE` setting's parser, apart from `realtime.hot_cache` so that
reading settings (the service, every Dagster process) does not import redis-py."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

URL_SCHEMES: Final = ("redis", "rediss", "unix")


def validate_url(text: str) -> str:
    """The setting's parser: a Redis URL with a host (or a unix socket path)."""
    parts = urlsplit(text)
    where = parts.path if parts.scheme == "unix" else parts.hostname
    if parts.scheme not in URL_SCHEMES or not where:
        raise ValueError(f"expected redis://host:port/db (or rediss://, unix://), got {text!r}")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise ValueError(f"expected a port number in {text!r}") from None
    return text
