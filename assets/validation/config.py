"""config/validation.toml, checked at load: every problem at once, one per line, in the
house style of `realtime.config_errors` (file, [table] field, what is wrong)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final

import msgspec

from assets.validation.catalogue import BY_NAME, CHECKS, CheckDef
from realtime.config_errors import ConfigError, ConfigProblem, check_table, read_toml
from realtime.layout import PROJECT_ROOT
from realtime.service_control import MAX_RESTART_S

DEFAULT_PATH: Final = PROJECT_ROOT / "config" / "validation.toml"


class Severity(StrEnum):
    WARN = "WARN"
    ERROR = "ERROR"


class ValidationConfigError(ConfigError):
    code = "INVALID_VALIDATION_CONFIG"


Positive = Annotated[float, msgspec.Meta(gt=0)]


class _Check(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    severity: Severity
    threshold: Annotated[float, msgspec.Meta(ge=0)] | None = None


class Probe(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    account: Annotated[str, msgspec.Meta(min_length=1)]
    api_key: Annotated[str, msgspec.Meta(min_length=1)]
    peer_api_key: Annotated[str, msgspec.Meta(min_length=1)]


class Performance(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    orders_per_s: Annotated[float, msgspec.Meta(gt=0, le=500)]
    tickers_per_s: Annotated[float, msgspec.Meta(gt=0, le=500)]
    # bounded: the load is a probe of a live service, not a stress test
    seconds: Annotated[float, msgspec.Meta(gt=0, le=30)]


class Integration(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    timeout_s: Positive


class Resilience(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    # bounded: at most this many probe orders to fill the venue queue (a queue that
    # holds more is not filled: the check is not exercised there)
    queue_burst: Annotated[int, msgspec.Meta(gt=0, le=200)]
    recover_timeout_s: Positive
    # how long the restarted service may take to be ready again (the launcher waits
    # this long for it; the check then polls /ready as long again)
    restart_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=MAX_RESTART_S)]


@dataclass(frozen=True, slots=True)
class CheckConfig:
    check: CheckDef
    severity: Severity
    threshold: float | None


@dataclass(frozen=True, slots=True)
class ValidationConfig:
    checks: dict[str, CheckConfig]
    probe: Probe
    performance: Performance
    integration: Integration
    resilience: Resilience
    source: str

    def __getitem__(self, name: str) -> CheckConfig:
        return self.checks[name]

    def threshold(self, name: str) -> float:
        value = self.checks[name].threshold
        assert value is not None, f"{name} has no threshold"  # load refuses that
        return value


_SECTIONS: Final[dict[str, type[msgspec.Struct]]] = {
    "probe": Probe,
    "performance": Performance,
    "integration": Integration,
    "resilience": Resilience,
}


def load_validation_config(path: Path = DEFAULT_PATH) -> ValidationConfig:
    document = read_toml(path, ValidationConfigError)
    return parse_validation_config(document, str(path))


def parse_validation_config(document: dict[str, Any], source: str) -> ValidationConfig:
    problems: list[ConfigProblem] = [
        ConfigProblem(source, f"[{key}]", "unknown table")
        for key in document
        if key not in {*_SECTIONS, "checks"}
    ]
    sections: dict[str, Any] = {}
    for key, struct in _SECTIONS.items():
        if key not in document:
            problems.append(ConfigProblem(source, f"[{key}]", "missing table"))
            continue
        value, found = check_table(document[key], struct, source=source, where=f"[{key}]")
        sections[key] = value
        problems += found
    table = document.get("checks", {})
    if not isinstance(table, dict):
        table = {}
        problems.append(ConfigProblem(source, "[checks]", "must be a table"))
    checks: dict[str, CheckConfig] = {}
    for name in table:
        if name not in BY_NAME:
            problems.append(ConfigProblem(source, f"[checks.{name}]", "unknown check"))
    for check in CHECKS:
        where = f"[checks.{check.name}]"
        if check.name not in table:
            problems.append(ConfigProblem(source, where, "missing: every check needs a severity"))
            continue
        value, found = check_table(table[check.name], _Check, source=source, where=where)
        problems += found
        if value is None:
            continue
        if check.unit is not None and value.threshold is None:
            problems.append(
                ConfigProblem(source, f"{where} threshold", f"missing (in {check.unit})")
            )
        elif check.unit is None and value.threshold is not None:
            problems.append(
                ConfigProblem(source, f"{where} threshold", "this check takes no threshold")
            )
        else:
            checks[check.name] = CheckConfig(check, value.severity, value.threshold)
    if problems:
        raise ValidationConfigError(problems)
    return ValidationConfig(checks=checks, source=source, **sections)
