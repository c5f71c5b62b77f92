"""Config files and settings: validated at load, every problem on its own line naming the
file, the table and the field (or the variable); the server refuses them with status 78."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from realtime.accounts import AccountDirectory, AccountsError, hash_key
from realtime.config import load_checked_limits, load_service_config
from realtime.config_errors import ConfigError
from realtime.instruments import InstrumentsError, load_universe
from realtime.layout import PROJECT_ROOT
from realtime.limits import LimitsError, load_limits
from realtime.server import ExitStatus
from realtime.service_process import clean_env
from realtime.settings import ServiceSettings, SettingsError

CONFIG = PROJECT_ROOT / "config"


def test_shipped_config_files_load() -> None:
    limits = load_limits(CONFIG / "limits.toml")
    assert limits.for_account("alice").max_position == 20_000
    assert limits.for_account("bob").max_order_quantity == limits.default.max_order_quantity
    assert limits.is_restricted("bob", "TSLA") and not limits.is_restricted("alice", "TSLA")
    universe = load_universe(CONFIG / "instruments.toml")
    instruments = universe.by_symbol()
    assert instruments["ESZ6"].multiplier == 50.0
    assert instruments["AAPL"].multiplier == 1.0
    assert {i.currency for i in instruments.values()} == {"USD"}
    # Quantities are whole units: no fractional-lot crypto pair in the default universe.
    assert "BTCUSD" not in instruments
    accounts = AccountDirectory.load(CONFIG / "accounts.toml")
    # the validation programme's probe accounts (issue 15) beside the demo traders
    assert accounts.accounts == ["alice", "bob", "validation", "validation_peer"]
    principal = accounts.authenticate("ops-demo-key")
    assert principal is not None and principal.is_admin
    config = load_service_config(
        CONFIG / "instruments.toml", CONFIG / "limits.toml", CONFIG / "accounts.toml"
    )
    assert config.limits == limits


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("[default]\nmax_order_quantity = 1\n", "[default] max_order_notional: missing required"),
        ("not toml [", ": not valid TOML: "),
        ("[accounts.x]\nmax_position = 1\n", ": missing the [default] table"),
        ("colour = 1\n", "colour: unknown top-level key"),
    ],
)
def test_load_limits_when_invalid_then_error_names_the_problem(
    tmp_path: Path, text: str, line: str
) -> None:
    path = tmp_path / "limits.toml"
    path.write_text(text)
    with pytest.raises(LimitsError) as excinfo:
        load_limits(path)
    assert any(line in problem for problem in excinfo.value.lines()), excinfo.value.lines()
    assert all(problem.startswith(f"{path}: ") for problem in excinfo.value.lines())
    assert excinfo.value.code == "INVALID_LIMITS"


def test_load_limits_when_several_fields_bad_then_each_is_one_line_naming_table_and_field(
    tmp_path: Path,
) -> None:
    path = tmp_path / "limits.toml"
    shipped = (CONFIG / "limits.toml").read_text()
    path.write_text(
        shipped.replace("price_collar_pct = 5.0", "price_collar_pct = 500.0")
        + "\n[accounts.carol]\nmax_position = -5\nmax_leverage = 'high'\ncolour = 'blue'\n"
    )

    with pytest.raises(LimitsError) as excinfo:
        load_limits(path)

    assert excinfo.value.lines() == [
        f"{path}: [default] price_collar_pct: expected `float` <= 100.0, got 500.0",
        f"{path}: [accounts.carol] colour: unknown field",
        f"{path}: [accounts.carol] max_position: expected `int` >= 1, got -5",
        f"{path}: [accounts.carol] max_leverage: expected `float`, got `str`, got 'high'",
    ]


def test_load_instruments_when_fields_bad_then_errors_name_the_instrument(tmp_path: Path) -> None:
    path = tmp_path / "instruments.toml"
    path.write_text(
        "[instruments.AAPL]\ntick_size = 0.01\n"
        "[instruments.X]\ntick_size = 0\n"
        "[instruments.Y]\ntick_size = 0.5\nlot = 3\n"
    )
    with pytest.raises(InstrumentsError) as excinfo:
        load_universe(path)
    assert excinfo.value.lines() == [
        f"{path}: [instruments.X] tick_size: expected `float` > 0.0, got 0",
        f"{path}: [instruments.Y] lot: unknown field",
    ]


def test_accounts_when_keys_shared_or_malformed_then_the_account_is_named_and_no_value_shown(
    tmp_path: Path,
) -> None:
    path = tmp_path / "accounts.toml"
    digest = hash_key("k")
    path.write_text(
        f'[accounts.a]\napi_key_sha256 = "{digest}"\n[admins.b]\napi_key_sha256 = "{digest}"\n'
        '[accounts.c]\napi_key_sha256 = "plaintext-key"\n'
    )
    with pytest.raises(AccountsError) as excinfo:
        AccountDirectory.load(path)
    assert excinfo.value.lines() == [
        f"{path}: [accounts.c] api_key_sha256: expected `str` matching regex '^[0-9a-f]{{64}}$'",
        f"{path}: [admins.b] api_key_sha256: the same API key as a",
    ]
    assert "plaintext-key" not in str(excinfo.value)


def test_authenticate_when_unknown_or_missing_key_then_none() -> None:
    accounts = AccountDirectory.load(CONFIG / "accounts.toml")
    assert accounts.authenticate(None) is None
    assert accounts.authenticate("") is None
    assert accounts.authenticate("guess") is None
    principal = accounts.authenticate("alice-demo-key")
    assert principal is not None and principal.name == "alice" and not principal.is_admin


def broken_config(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of config/ with one edit in one file."""
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    text = (config / file).read_text()
    assert old in text
    (config / file).write_text(text.replace(old, new, 1))
    return config


def test_service_config_when_restricted_symbol_unknown_then_refused(tmp_path: Path) -> None:
    config = broken_config(
        tmp_path, "limits.toml", 'restricted_symbols = ["TSLA"]', 'restricted_symbols = ["TSLAA"]'
    )
    with pytest.raises(ConfigError) as excinfo:
        load_service_config(
            config / "instruments.toml", config / "limits.toml", config / "accounts.toml"
        )
    assert excinfo.value.lines() == [
        f"{config / 'limits.toml'}: [accounts.bob] restricted_symbols: unknown symbol 'TSLAA' "
        f"(not in {config / 'instruments.toml'})"
    ]


def test_service_config_when_limits_name_an_account_without_a_key_then_refused(
    tmp_path: Path,
) -> None:
    config = broken_config(tmp_path, "limits.toml", "[accounts.alice]", "[accounts.alcie]")
    with pytest.raises(ConfigError) as excinfo:
        load_service_config(
            config / "instruments.toml", config / "limits.toml", config / "accounts.toml"
        )
    assert excinfo.value.lines() == [
        f"{config / 'limits.toml'}: [accounts.alcie]: unknown account 'alcie' "
        f"(not in {config / 'accounts.toml'})"
    ]


def test_checked_limits_when_reloaded_with_an_unknown_account_then_refused(tmp_path: Path) -> None:
    """What POST /admin/limits/reload applies: the same rules as start-up."""
    config = broken_config(tmp_path, "limits.toml", "[accounts.bob]", "[accounts.bobby]")
    universe = load_universe(config / "instruments.toml")
    accounts = AccountDirectory.load(config / "accounts.toml")
    with pytest.raises(LimitsError, match=r"\[accounts\.bobby\]: unknown account 'bobby'"):
        load_checked_limits(config / "limits.toml", universe.instruments, accounts)


def test_settings_when_variables_bad_then_each_is_named_with_what_it_must_be() -> None:
    with pytest.raises(SettingsError) as excinfo:
        ServiceSettings.from_env(
            {
                "TRADEPIPE_PORT": "abc",
                "TRADEPIPE_DURABILITY": "sometimes",
                "TRADEPIPE_FEED_RATE": "-1",
                "TRADEPIPE_ACCESS_LOG": "maybe",
                "TRADEPIPE_FEED": "ticks.txt",
            }
        )
    assert excinfo.value.lines() == [
        "environment: TRADEPIPE_PORT: expected a whole number, got 'abc'",
        "environment: TRADEPIPE_DURABILITY: expected one of PROCESS, FSYNC, got 'sometimes'",
        "environment: TRADEPIPE_FEED: expected 'synthetic' or a .csv or .parquet tick file, "
        "got 'ticks.txt'",
        "environment: TRADEPIPE_FEED_RATE: expected a finite number > 0, got '-1'",
        "environment: TRADEPIPE_ACCESS_LOG: expected 1/0, true/false, yes/no or on/off, "
        "got 'maybe'",
    ]
    assert excinfo.value.code == "INVALID_SETTINGS"


# --- the real server refuses them: status 78, one line per problem, no traceback ----------


def run_server(tmp_path: Path, config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = clean_env()
    environment.update(
        TRADEPIPE_DATA_DIR=str(tmp_path / "data"), TRADEPIPE_CONFIG_DIR=str(config), **env
    )
    return subprocess.run(
        [sys.executable, "-m", "realtime.server", "--port", "0"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("file", "old", "new", "line"),
    [
        (
            "limits.toml",
            "max_position = 20_000",
            "max_position = -5",
            "limits.toml: [accounts.alice] max_position: expected `int` >= 1, got -5",
        ),
        (
            "instruments.toml",
            "tick_size = 0.25",
            "tick_size = -0.25",
            "instruments.toml: [instruments.ESZ6] tick_size: expected `float` > 0.0, got -0.25",
        ),
        (
            "accounts.toml",
            '[accounts.bob]\napi_key_sha256 = "3a1f',
            '[accounts.bob]\napi_key_sha256 = "3A1F',
            "accounts.toml: [accounts.bob] api_key_sha256: expected `str` matching regex",
        ),
        (
            "limits.toml",
            "restricted_symbols = []          # nobody",
            'restricted_symbols = ["XYZ"]     # nobody',
            "limits.toml: restricted_symbols: unknown symbol 'XYZ'",
        ),
        (
            "limits.toml",
            "[accounts.bob]",
            "[accounts.bobb]",
            "limits.toml: [accounts.bobb]: unknown account 'bobb'",
        ),
        (
            "limits.toml",
            "\n[default]\n",
            "\n[defaults]\n",
            "limits.toml: defaults: unknown top-level key",
        ),
    ],
)
def test_server_when_a_config_file_is_bad_then_exit_78_with_one_line_naming_file_table_field(
    tmp_path: Path, file: str, old: str, new: str, line: str
) -> None:
    result = run_server(tmp_path, broken_config(tmp_path, file, old, new))

    assert result.returncode == ExitStatus.BAD_CONFIG == 78
    errors = result.stderr.splitlines()
    assert errors, result.stdout
    assert all(e.startswith(f"tradepipe-realtime: config error: {tmp_path}") for e in errors)
    assert line in errors[0], errors
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "journal.db").exists()  # refused before anything opened


@pytest.mark.slow
def test_server_when_a_setting_is_bad_then_exit_78_with_the_variable_named(tmp_path: Path) -> None:
    result = run_server(tmp_path, CONFIG, TRADEPIPE_VENUE_QUEUE="abc", TRADEPIPE_LOG_LEVEL="loud")

    assert result.returncode == ExitStatus.BAD_CONFIG
    assert result.stderr.splitlines() == [
        "tradepipe-realtime: config error: environment: TRADEPIPE_LOG_LEVEL: "
        "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'loud'",
        "tradepipe-realtime: config error: environment: TRADEPIPE_VENUE_QUEUE: "
        "expected a whole number, got 'abc'",
    ]
