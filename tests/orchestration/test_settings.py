"""Settings from the environment, and the warehouse chosen from TRADEPIPE_WAREHOUSE."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.resources import DuckDBWarehouse, QuestDBWarehouse
from orchestration.resources import build_resources, warehouse_from_url
from orchestration.settings import PROJECT_ROOT, Settings
from realtime.settings import ServiceSettings


def test_from_env_when_nothing_set_then_embedded_defaults_under_the_project_data_folder() -> None:
    settings = Settings.from_env({})

    data = PROJECT_ROOT / "data"
    assert settings.data_dir == data
    assert settings.journal_path == data / "journal.db"
    assert settings.warehouse_url == f"duckdb://{data / 'warehouse.duckdb'}"
    assert settings.tick_inbox == data / "inbox" / "ticks"
    assert settings.alt_inbox == data / "inbox" / "alt"


def test_from_env_when_variables_set_then_they_win(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "TRADEPIPE_DATA_DIR": str(tmp_path),
            "TRADEPIPE_JOURNAL": "var/j.db",
            "TRADEPIPE_WAREHOUSE": "questdb://qdb:9000",
            "TRADEPIPE_SHIP_BATCH_ROWS": "1000",
        }
    )

    assert settings.data_dir == tmp_path
    assert settings.journal_path == PROJECT_ROOT / "var" / "j.db"  # relative to the project
    assert settings.warehouse_url == "questdb://qdb:9000"
    assert settings.batch_rows == 1000
    assert settings.alt_inbox == tmp_path / "inbox" / "alt"


def test_from_env_when_batch_size_not_a_positive_number_then_error_names_the_variable() -> None:
    with pytest.raises(ValueError, match="TRADEPIPE_SHIP_BATCH_BYTES"):
        Settings.from_env({"TRADEPIPE_SHIP_BATCH_BYTES": "lots"})
    with pytest.raises(ValueError, match="TRADEPIPE_SHIP_BATCH_ROWS: expected a number from 1"):
        Settings.from_env({"TRADEPIPE_SHIP_BATCH_ROWS": "0"})


def test_inboxes_when_set_by_variable_then_dagster_and_the_service_mean_the_same_folder(
    tmp_path: Path,
) -> None:
    env = {
        "TRADEPIPE_DATA_DIR": str(tmp_path),
        "TRADEPIPE_ALT_INBOX": str(tmp_path / "vendor-drop"),
        "TRADEPIPE_TICK_INBOX": "var/ticks",
    }

    dagster, service = Settings.from_env(env), ServiceSettings.from_env(env)

    assert dagster.alt_inbox == service.alt_inbox == tmp_path / "vendor-drop"
    assert dagster.tick_inbox == service.tick_inbox == PROJECT_ROOT / "var" / "ticks"
    inbox = build_resources(dagster)["inbox"]
    assert inbox.alt_dir == str(tmp_path / "vendor-drop")  # type: ignore[attr-defined]


def test_relative_paths_when_set_then_both_runtimes_resolve_them_against_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # not where relative paths point
    env = {"TRADEPIPE_DATA_DIR": "var/data", "TRADEPIPE_JOURNAL": "var/j.db"}

    dagster, service = Settings.from_env(env), ServiceSettings.from_env(env)

    assert dagster.data_dir == service.data_dir == PROJECT_ROOT / "var" / "data"
    assert dagster.journal_path == service.journal_path == PROJECT_ROOT / "var" / "j.db"
    assert service.alt_inbox == PROJECT_ROOT / "var" / "data" / "inbox" / "alt"


def test_warehouse_from_url_when_duckdb_then_absolute_or_project_relative_file() -> None:
    absolute = warehouse_from_url("duckdb:///srv/tradepipe/warehouse.duckdb")
    relative = warehouse_from_url("duckdb://data/w.duckdb")

    assert isinstance(absolute, DuckDBWarehouse)
    assert absolute.path == "/srv/tradepipe/warehouse.duckdb"
    assert isinstance(relative, DuckDBWarehouse)
    assert relative.path == str(PROJECT_ROOT / "data" / "w.duckdb")


def test_warehouse_from_url_when_questdb_then_ports_and_credentials_are_parsed() -> None:
    questdb = warehouse_from_url(
        "questdb://qdb.internal?pg_port=8813&pg_user=reader&pg_password=s3cret&protocol_version=2"
    )

    assert isinstance(questdb, QuestDBWarehouse)
    assert (questdb.host, questdb.http_port, questdb.pg_port) == ("qdb.internal", 9000, 8813)
    assert (questdb.pg_user, questdb.pg_password, questdb.protocol_version) == (
        "reader",
        "s3cret",
        2,
    )
    assert "s3cret" not in questdb.location


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgres://db/warehouse", "expected duckdb:///"),
        ("duckdb://", "needs a file path"),
        ("questdb://?pg_port=1", "needs a host"),
        ("questdb://qdb?colour=blue", "unknown questdb options"),
    ],
)
def test_warehouse_from_url_when_malformed_then_error_says_what_is_expected(
    url: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        warehouse_from_url(url)


def test_build_resources_when_settings_then_paths_flow_into_resources(tmp_path: Path) -> None:
    settings = Settings.for_data_dir(tmp_path, batch_rows=123)

    resources = build_resources(settings)

    assert resources["journal"].path == str(tmp_path / "journal.db")  # type: ignore[attr-defined]
    assert resources["journal"].batch_rows == 123  # type: ignore[attr-defined]
    assert resources["inbox"].alt_dir == str(tmp_path / "inbox" / "alt")  # type: ignore[attr-defined]
    assert resources["warehouse"].path == str(tmp_path / "warehouse.duckdb")  # type: ignore[attr-defined]
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing opened at build time


def test_from_env_when_service_url_and_keys_set_then_the_service_book_gets_them() -> None:
    settings = Settings.from_env(
        {
            "TRADEPIPE_SERVICE_URL": "http://127.0.0.1:8000/",
            "TRADEPIPE_SERVICE_KEYS": "alice=alice-demo-key, bob=bob-demo-key",
        }
    )

    assert settings.service_url == "http://127.0.0.1:8000"
    assert dict(settings.service_keys) == {"alice": "alice-demo-key", "bob": "bob-demo-key"}


@pytest.mark.parametrize(
    ("name", "value"),
    [("TRADEPIPE_SERVICE_URL", "127.0.0.1:8000"), ("TRADEPIPE_SERVICE_KEYS", "alice")],
)
def test_from_env_when_service_settings_malformed_then_error_names_the_variable(
    name: str, value: str
) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})
