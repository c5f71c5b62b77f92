"""Where the performance load may go: loopback by default, a listed host besides, and a
refusal that names the setting; the setting itself checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.resources import DuckDBWarehouse, JournalSource
from assets.validation.load_target import (
    LOAD_HOSTS_SETTING,
    LoadRefused,
    load_target,
    parse_load_hosts,
)
from orchestration.settings import Settings
from orchestration.validation import validation_resource
from orchestration.validation_settings import ValidationSettings
from realtime.layout import DataLayout
from realtime.settings import SettingsError


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://127.3.2.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
    ],
)
def test_load_target_when_loopback_then_allowed_with_nothing_listed(url: str) -> None:
    host, port = load_target(url, frozenset())
    assert port == 8000 and host in url


def test_load_target_when_another_host_not_listed_then_refused_naming_the_setting() -> None:
    with pytest.raises(LoadRefused) as refused:
        load_target("http://realtime:8000", frozenset())
    assert str(refused.value) == (
        "refused: the load goes to loopback only, or to a host listed in "
        "TRADEPIPE_VALIDATION_LOAD_HOSTS (listed: none), not 'realtime'"
    )
    with pytest.raises(LoadRefused, match=r"\(listed: realtime\), not '192.0.2.1'"):
        load_target("http://192.0.2.1:8000", frozenset({"realtime"}))


def test_load_target_when_host_listed_then_allowed_case_insensitively() -> None:
    assert load_target("http://Realtime:8000/", parse_load_hosts("realtime")) == ("realtime", 8000)
    assert load_target("http://10.0.0.7", parse_load_hosts("10.0.0.7, realtime")) == (
        "10.0.0.7",
        80,
    )
    # exact names only: a listed name does not allow its subdomains
    with pytest.raises(LoadRefused):
        load_target("http://evil.realtime:8000", parse_load_hosts("realtime"))


def test_settings_when_load_hosts_set_then_parsed_and_a_bad_entry_refused_at_load() -> None:
    settings = ValidationSettings.from_env({LOAD_HOSTS_SETTING: " realtime, ,Other-Host "})
    assert settings.load_hosts == frozenset({"realtime", "other-host"})
    assert ValidationSettings.from_env({}).load_hosts == frozenset()  # loopback only
    with pytest.raises(SettingsError) as bad:
        ValidationSettings.from_env({LOAD_HOSTS_SETTING: "realtime:8000,*.corp,http://x"})
    (line,) = bad.value.lines()
    assert line.startswith(f"environment: {LOAD_HOSTS_SETTING}: expected comma-separated host")
    assert "['realtime:8000', '*.corp', 'http://x']" in line


def test_validation_resource_when_built_then_its_platform_has_the_hosts_and_launcher_file(
    tmp_path: Path,
) -> None:
    settings = Settings.for_data_dir(tmp_path / "data")
    target = validation_resource(
        settings, ValidationSettings.from_env({LOAD_HOSTS_SETTING: "realtime"})
    )
    platform = target.platform(
        JournalSource(path=str(tmp_path / "journal.db")),
        DuckDBWarehouse(path=str(tmp_path / "w.duckdb")),
    )
    try:
        assert platform.load_hosts == frozenset({"realtime"})
        # where the launcher of this data directory writes its control endpoint
        assert platform.launcher_control == DataLayout.under(tmp_path / "data").launcher_control
        assert platform.launcher_control == tmp_path / "data" / "launcher.json"
    finally:
        platform.close()
