"""The service serves a page at / that a real browser loads, from this machine only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import RequestLog
from tests.web.conftest import watch_console
from tests.web.live import LiveService

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_root_page_loads_in_chromium_with_no_outside_request(
    live: LiveService, browser_context: Any, requests_log: RequestLog, output_dir: Path
) -> None:
    page = browser_context.new_page()
    watch_console(page, requests_log)
    response = page.goto(live.url + "/")
    assert response is not None and response.status == 200
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert page.title() == "tradepipe"
    page.screenshot(path=str(output_dir / "root.png"))
    assert requests_log.external == []
    assert requests_log.console_errors == []
