from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestration.resources import DuckDBWarehouse, Inbox, JournalSource
from tests.assets.journals import write_engine_journal


@pytest.fixture(scope="session")
def engine_journal_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("engine") / "journal.db"
    write_engine_journal(path)
    return path


@pytest.fixture
def engine_journal(engine_journal_template: Path, tmp_path: Path) -> Path:
    """A private copy of a journal the real engine wrote (closed, so one file)."""
    path = tmp_path / "journal.db"
    for suffix in ("", "-wal"):
        source = Path(f"{engine_journal_template}{suffix}")
        if source.exists():
            shutil.copy(source, f"{path}{suffix}")
    return path


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def warehouse(warehouse_path: Path) -> DuckDBWarehouse:
    return DuckDBWarehouse(path=str(warehouse_path))


@pytest.fixture
def inbox(tmp_path: Path) -> Inbox:
    ticks, alt = tmp_path / "inbox" / "ticks", tmp_path / "inbox" / "alt"
    ticks.mkdir(parents=True)
    alt.mkdir(parents=True)
    return Inbox(ticks_dir=str(ticks), alt_dir=str(alt))


def journal_source(path: Path, **settings: object) -> JournalSource:
    return JournalSource(path=str(path), **settings)  # type: ignore[arg-type]
