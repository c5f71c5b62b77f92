"""Browser fixtures: one headless Chromium per session, a fresh context per test.

Tests marked `browser` are skipped where Chromium is missing (a machine where apt
cannot install it), except under CI, where a missing browser fails the run: CI
installs it through `make test`, so a skip there would hide a broken install.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import CHROMIUM, CHROMIUM_FLAGS, RequestLog, chromium_missing, is_local
from tests.web.live import ROOT, LiveService, live_service, settings_for

OUTPUT_ROOT = Path(os.environ.get("TRADEPIPE_TEST_OUTPUT", ROOT / "test-output")) / "web"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") is None:
        return
    reason = chromium_missing()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser test under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """test-output/web/<test name>/: screenshots for a person to look at (git ignores it)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = OUTPUT_ROOT / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def requests_log() -> RequestLog:
    return RequestLog()


def guarded_context(chromium: Any, log: RequestLog) -> Any:
    """A fresh profile (its own session storage) that refuses every request off this
    machine, and records what it refused."""
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(10_000)

    def guard(route: Any) -> None:
        url = route.request.url
        log.seen.append(url)
        if is_local(url):
            route.continue_()
        else:
            log.external.append(url)
            route.abort()

    context.route("**/*", guard)
    return context


@pytest.fixture
def browser_context(chromium: Any, requests_log: RequestLog) -> Iterator[Any]:
    context = guarded_context(chromium, requests_log)
    try:
        yield context
    finally:
        context.close()


def watch_console(page: Any, log: RequestLog) -> None:
    """Collect script errors. Chromium also logs every 4xx answer as a console error
    ("Failed to load resource"); those are the API's problem answers the page expects
    (a risk rejection, the admin probe), so they are left out."""

    def on_console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            log.console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: log.console_errors.append(str(error)))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """The service on the synthetic feed, in this process, shared by a module's tests
    (a module that needs another market defines its own `live`)."""
    with live_service(settings_for(tmp_path_factory.mktemp("live"))) as running:
        yield running
