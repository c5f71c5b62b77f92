from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.resources import DuckDBWarehouse, Inbox, JournalSource
from assets.warehouse.assets import WAREHOUSE_ASSETS
from tests.assets.execution_quality.journal import write_tca_journal
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


@pytest.fixture(scope="session")
def shipped_tca_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the TCA day the real engine traded (`journal.db`) and the warehouse
    file the warehouse assets shipped it into (`warehouse.duckdb`), made once for the
    session: tests copy what they use."""
    folder = tmp_path_factory.mktemp("tca-day")
    write_tca_journal(folder / "journal.db")
    warehouse = DuckDBWarehouse(path=str(folder / "warehouse.duckdb"))
    dg.materialize(
        WAREHOUSE_ASSETS,
        resources={"warehouse": warehouse, "journal": journal_source(folder / "journal.db")},
    )
    warehouse.close()
    return folder
