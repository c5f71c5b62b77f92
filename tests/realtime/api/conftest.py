"""Fixtures: one real server per test module (started as a subprocess on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.realtime.api.support import HTTP_TIMEOUT, STACKS, Server, copy_config, running_server


@pytest.fixture(scope="module", params=list(STACKS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server shared by the tests of one module, on its own data dir and config copy."""
    base = tmp_path_factory.mktemp("server")
    config_dir = copy_config(base / "config")
    env = {"TRADEPIPE_FAST_PATH": STACKS[request.param]}
    with running_server(base / "data", config_dir, base / "server.log", env) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=HTTP_TIMEOUT) as http:
        yield http
