"""Log files: JSON lines, rotated by size, where the launcher points the service."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from realtime.logs import JsonFormatter, configure_logging, rotating_file_handler


@pytest.fixture
def restored_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def test_rotating_file_handler_when_past_the_size_then_rolls_over_and_keeps_the_backups(
    tmp_path: Path,
) -> None:
    path = tmp_path / "logs" / "realtime.log"
    handler = rotating_file_handler(path, max_bytes=2_000, backups=2)
    handler.setFormatter(JsonFormatter())
    logger = logging.Logger("rotation-test")
    logger.addHandler(handler)

    for i in range(200):
        logger.warning("event %d with some padding to fill the file", i)
    handler.close()

    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["realtime.log", "realtime.log.1", "realtime.log.2"]
    assert all(p.stat().st_size <= 2_000 for p in path.parent.iterdir())
    last = path.read_text().splitlines()[-1]
    assert json.loads(last)["msg"] == "event 199 with some padding to fill the file"


def test_configure_logging_when_a_log_file_is_set_then_json_lines_go_there_not_stderr(
    tmp_path: Path, restored_root_logger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "realtime.log"

    configure_logging("INFO", env={"TRADEPIPE_LOG_FILE": str(path)})
    logging.getLogger("tradepipe.test").info("trading state changed", extra={"state": "HALTED"})
    logging.getLogger("tradepipe.access").debug("GET /tickers 200")
    for handler in logging.getLogger().handlers:
        handler.flush()

    [line] = path.read_text().splitlines()  # the DEBUG request line is not written
    entry = json.loads(line)
    assert (entry["level"], entry["msg"], entry["state"]) == (
        "info",
        "trading state changed",
        "HALTED",
    )
    assert capsys.readouterr().err == ""
