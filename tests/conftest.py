"""Tests marked `postgres` or `redis` need that server on 127.0.0.1; where it does not
answer (a machine without it) they are skipped, not failed. CI has both servers."""

from __future__ import annotations

import functools
import socket

import pytest

SERVERS = {"postgres": 5432, "redis": 6379}


@functools.cache
def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, port in SERVERS.items():
        if item.get_closest_marker(marker) is not None and not _answers(port):
            pytest.skip(f"no {marker} server on 127.0.0.1:{port}")
