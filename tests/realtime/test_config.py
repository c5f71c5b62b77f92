"""Config files: limits, instruments and API keys validate at load with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime.accounts import AccountDirectory, AccountsError, hash_key
from realtime.instruments import InstrumentsError, load_universe
from realtime.limits import LimitsError, load_limits

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_files_load() -> None:
    limits = load_limits(ROOT / "config" / "limits.toml")
    assert limits.for_account("alice").max_position == 20_000
    assert limits.for_account("bob").max_order_quantity == limits.default.max_order_quantity
    assert limits.is_restricted("bob", "TSLA") and not limits.is_restricted("alice", "TSLA")
    universe = load_universe(ROOT / "config" / "instruments.toml")
    assert universe.by_symbol()["BTCUSD"].lot_size == 10
    accounts = AccountDirectory.load(ROOT / "config" / "accounts.toml")
    assert accounts.accounts == ["alice", "bob"]
    principal = accounts.authenticate("ops-demo-key")
    assert principal is not None and principal.is_admin


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[default]\nmax_order_quantity = 1\n", "missing required field"),
        ("not toml [", "not valid TOML"),
        ("[accounts.x]\nmax_position = 1\n", "missing [default]"),
    ],
)
def test_load_limits_when_invalid_then_error_names_the_problem(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = tmp_path / "limits.toml"
    path.write_text(text)
    with pytest.raises(LimitsError) as excinfo:
        load_limits(path)
    assert fragment in str(excinfo.value)
    assert excinfo.value.code == "INVALID_LIMITS"


def test_load_limits_when_account_override_invalid_then_path_is_named(tmp_path: Path) -> None:
    shipped = (ROOT / "config" / "limits.toml").read_text()
    path = tmp_path / "limits.toml"
    path.write_text(shipped + "\n[accounts.carol]\nmax_position = -5\n")
    with pytest.raises(LimitsError, match=r"accounts\.carol.*max_position"):
        load_limits(path)


def test_load_instruments_when_tick_not_positive_then_error(tmp_path: Path) -> None:
    path = tmp_path / "instruments.toml"
    path.write_text("[instruments.X]\ntick_size = 0\n")
    with pytest.raises(InstrumentsError, match="tick_size"):
        load_universe(path)


def test_accounts_when_keys_shared_or_malformed_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    digest = hash_key("k")
    path.write_text(
        f'[accounts.a]\napi_key_sha256 = "{digest}"\n[admins.b]\napi_key_sha256 = "{digest}"\n'
    )
    with pytest.raises(AccountsError, match="shares an API key"):
        AccountDirectory.load(path)
    path.write_text('[accounts.a]\napi_key_sha256 = "plaintext-key"\n')
    with pytest.raises(AccountsError, match="api_key_sha256"):
        AccountDirectory.load(path)


def test_authenticate_when_unknown_or_missing_key_then_none(tmp_path: Path) -> None:
    accounts = AccountDirectory.load(ROOT / "config" / "accounts.toml")
    assert accounts.authenticate(None) is None
    assert accounts.authenticate("") is None
    assert accounts.authenticate("guess") is None
    principal = accounts.authenticate("alice-demo-key")
    assert principal is not None and principal.name == "alice" and not principal.is_admin
