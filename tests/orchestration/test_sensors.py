"""The shipping sensors: a run only when the journal or an inbox has something new."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import dagster as dg
import pytest

from assets.checks import NO_ROWS_YET
from assets.resources import DuckDBWarehouse, Inbox, JournalSource
from assets.warehouse.assets import WAREHOUSE_ASSETS
from orchestration.definitions import build_definitions
from orchestration.sensors import SENSOR_INTERVAL_S
from orchestration.settings import Settings
from tests.assets.journals import append_events, tick_events


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings.for_data_dir(tmp_path / "data")
    settings.tick_inbox.mkdir(parents=True)
    settings.alt_inbox.mkdir(parents=True)
    return settings


def sensor(settings: Settings, name: str) -> dg.SensorDefinition:
    return build_definitions(settings).get_repository_def().get_sensor_def(name)


def tick(
    sensor_def: dg.SensorDefinition,
    instance: dg.DagsterInstance,
    settings: Settings,
    cursor: str | None = None,
) -> dg.SensorResult:
    resources = {
        "journal": JournalSource(path=str(settings.journal_path)),
        "inbox": Inbox(ticks_dir=str(settings.tick_inbox), alt_dir=str(settings.alt_inbox)),
    }
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    data = sensor_def.evaluate_tick(context)
    return dg.SensorResult(
        run_requests=data.run_requests, skip_reason=data.skip_message, cursor=data.cursor
    )


def add_active_run(instance: dg.DagsterInstance, job_name: str) -> None:
    instance.add_run(
        dg.DagsterRun(
            job_name=job_name, run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED
        )
    )


def drop(folder: Path, name: str, text: str) -> None:
    temporary = folder / f".{name}.tmp"
    temporary.write_text(text)
    os.replace(temporary, folder / name)


def skip_message(result: dg.SensorResult) -> str:
    assert not result.run_requests
    assert result.skip_reason is not None
    return str(result.skip_reason.skip_message)


def test_sensors_when_built_then_both_shipping_jobs_have_one_that_starts_running(
    settings: Settings,
) -> None:
    repo = build_definitions(settings).get_repository_def()

    sensors = {s.name: s for s in repo.sensor_defs}

    assert {"warehouse_job_sensor", "inboxes_job_sensor"} <= set(sensors)
    for name in ("warehouse_job_sensor", "inboxes_job_sensor"):
        assert sensors[name].default_status is dg.DefaultSensorStatus.RUNNING
        # Within about 15 s of new events: one interval plus one run.
        assert sensors[name].minimum_interval_seconds == SENSOR_INTERVAL_S <= 5
    assert not {s.name for s in repo.schedule_defs} & {
        "warehouse_job_schedule",
        "inboxes_job_schedule",
    }


def test_journal_sensor_when_no_journal_yet_then_no_run(settings: Settings) -> None:
    with dg.instance_for_test() as instance:
        result = tick(sensor(settings, "warehouse_job_sensor"), instance, settings)

    assert skip_message(result) == "nothing new: the journal ends at seq 0"


def test_journal_sensor_when_the_head_moves_then_one_run_per_move_and_the_cursor_follows(
    settings: Settings,
) -> None:
    journal_sensor = sensor(settings, "warehouse_job_sensor")
    settings.journal_path.parent.mkdir(parents=True, exist_ok=True)
    head = append_events(settings.journal_path, tick_events(10))
    with dg.instance_for_test() as instance:
        first = tick(journal_sensor, instance, settings)
        again = tick(journal_sensor, instance, settings, cursor=first.cursor)
        grown = append_events(settings.journal_path, tick_events(5, start_ns=2_000_000_000))
        after_growth = tick(journal_sensor, instance, settings, cursor=first.cursor)

    assert [r.tags["tradepipe/journal_head_seq"] for r in first.run_requests or []] == [str(head)]
    # Launched before an inbox run asked for at the same time (the queue's default is 0).
    assert [r.tags["dagster/priority"] for r in first.run_requests or []] == ["1"]
    assert first.cursor == str(head)
    assert skip_message(again) == f"nothing new: the journal ends at seq {head}"
    assert len(after_growth.run_requests or []) == 1
    assert after_growth.cursor == str(grown)


def test_journal_sensor_when_a_run_is_active_then_it_waits_without_moving_the_cursor(
    settings: Settings,
) -> None:
    settings.journal_path.parent.mkdir(parents=True, exist_ok=True)
    append_events(settings.journal_path, tick_events(10))
    with dg.instance_for_test() as instance:
        add_active_run(instance, "warehouse_job")
        result = tick(sensor(settings, "warehouse_job_sensor"), instance, settings, cursor="3")

    assert "is still active" in skip_message(result)
    assert result.cursor in (None, "3")


def test_inbox_sensor_when_no_files_then_no_run(settings: Settings) -> None:
    with dg.instance_for_test() as instance:
        result = tick(sensor(settings, "inboxes_job_sensor"), instance, settings)

    assert skip_message(result) == "no files waiting in the inboxes"


def test_inbox_sensor_when_a_file_arrives_then_a_run_of_only_that_inbox_assets(
    settings: Settings,
) -> None:
    inbox_sensor = sensor(settings, "inboxes_job_sensor")
    drop(settings.alt_inbox, "a.jsonl", "{}\n")
    with dg.instance_for_test() as instance:
        alt_only = tick(inbox_sensor, instance, settings)
        drop(settings.tick_inbox, "t.csv", "ts,symbol,price,size\n")
        both = tick(inbox_sensor, instance, settings)
        same_files = tick(inbox_sensor, instance, settings)

    def selected(result: dg.SensorResult) -> set[str]:
        [request] = result.run_requests or []
        return {key.to_user_string() for key in request.asset_selection or []}

    assert {"alt_signals", "quarantine", "processed_files"} <= selected(alt_only)
    assert not {"replay_quotes", "replay_trades"} & selected(alt_only)
    assert {"alt_signals", "replay_quotes", "replay_trades"} <= selected(both)
    # The same waiting files (a failed run left them) are not asked for in a loop.
    [first], [second] = both.run_requests or [], same_files.run_requests or []
    assert first.run_key == second.run_key


def test_inbox_sensor_when_a_run_is_active_then_it_waits(settings: Settings) -> None:
    drop(settings.alt_inbox, "a.jsonl", "{}\n")
    with dg.instance_for_test() as instance:
        add_active_run(instance, "inboxes_job")
        result = tick(sensor(settings, "inboxes_job_sensor"), instance, settings)

    assert "is still active" in skip_message(result)


def test_ship_when_a_sensor_asked_then_only_tables_that_got_rows_are_materialised(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.db"
    append_events(journal, tick_events(30))
    warehouse = DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))

    result = dg.materialize(
        WAREHOUSE_ASSETS,
        resources={"warehouse": warehouse, "journal": JournalSource(path=str(journal))},
        tags={"dagster/sensor_name": "warehouse_job_sensor"},
    )

    assert result.success
    materialised = {
        e.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
        if e.asset_key
    }
    assert materialised == {"quotes", "trades", "ship_log"}
    checked = {e.asset_key.to_user_string() for e in result.get_asset_check_evaluations()}
    assert checked == {"quotes", "trades"}


def test_ship_when_a_person_asked_then_empty_tables_materialise_and_checks_say_no_rows_yet(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.db"
    append_events(journal, tick_events(30))
    warehouse = DuckDBWarehouse(path=str(tmp_path / "warehouse.duckdb"))

    result = dg.materialize(
        WAREHOUSE_ASSETS,
        resources={"warehouse": warehouse, "journal": JournalSource(path=str(journal))},
    )

    assert result.success
    descriptions = {
        (e.asset_key.to_user_string(), e.check_name): e.description
        for e in result.get_asset_check_evaluations()
    }
    assert descriptions[("fills", "fills_unique_keys")] == NO_ROWS_YET
    assert descriptions[("risk_control_changes", "risk_control_changes_no_seq_gaps")] == (
        "no rows yet: the journal has no risk_control_changes events through seq 30"
    )
    assert descriptions[("quotes", "quotes_unique_keys")] != NO_ROWS_YET
