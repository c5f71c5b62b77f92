"""What is wrong with a configuration, one problem per line, and the table check that finds it.

Every config file (limits, instruments, accounts) and the `TRADEPIPE_*` settings
report errors the same way: a `ConfigError` holding every problem found, each
naming its source (a file or the environment), where in it (the TOML table and
field, or the variable) and what is wrong::

    config/limits.toml: [accounts.carol] max_position: expected `int` >= 1, got -5
    environment: TRADEPIPE_PORT: expected a whole number, got 'abc'

Tables are checked field by field rather than handed to msgspec whole, because a
whole-document conversion stops at the first error and names dict entries only
as `$.accounts[...]`: the operator needs every error and the account's name.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    source: str  # a file path, or "environment"
    where: str  # "[accounts.carol] max_position", "TRADEPIPE_PORT", "" for the whole source
    what: str

    def __str__(self) -> str:
        return (
            f"{self.source}: {self.where}: {self.what}"
            if self.where
            else f"{self.source}: {self.what}"
        )


class ConfigError(ValueError):
    """A configuration that must not be used; `problems` lists every reason, one per line."""

    code = "INVALID_CONFIG"

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("a ConfigError needs at least one problem")
        super().__init__("; ".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def check_table(
    table: object,
    struct_type: type[S],
    *,
    source: str,
    where: str,
    inherited: Mapping[str, Any] | None = None,
    require: bool = True,
    show_values: bool = True,
) -> tuple[S | None, list[ConfigProblem]]:
    """Convert one TOML table to `struct_type`, reporting every bad field on its own.

    `inherited` supplies fields the table may leave out (an account's limits inherit
    `[default]`); problems are reported only for the table's own fields, so one bad
    default is reported once, not once per account (`require=False` when what it would
    inherit from is itself missing). `show_values=False` keeps values
    out of the messages (API key hashes, in case someone pasted a key instead).
    """
    if not isinstance(table, dict):
        return None, [
            ConfigProblem(source, where, f"must be a table, got {_shown(table, show_values)}")
        ]
    fields = {f.name: f for f in msgspec.structs.fields(struct_type)}
    problems = [
        ConfigProblem(source, f"{where} {name}", "unknown field")
        for name in table
        if name not in fields
    ]
    merged = {**(inherited or {}), **table}
    for name, info in fields.items():
        if name not in merged:
            if info.required and require:
                problems.append(ConfigProblem(source, f"{where} {name}", "missing required field"))
            continue
        if name not in table:
            continue  # inherited: checked where it was written
        try:
            msgspec.convert(table[name], info.type)
        except msgspec.ValidationError as exc:
            detail = _lower_first(str(exc))
            if show_values:
                detail += f", got {_shown(table[name], True)}"
            problems.append(ConfigProblem(source, f"{where} {name}", detail))
    if problems or not require:
        return None, problems
    known = {k: v for k, v in merged.items() if k in fields}
    try:
        return msgspec.convert(known, struct_type), []
    except msgspec.ValidationError as exc:
        if inherited:
            return None, []  # a bad inherited value: reported where it was written
        return None, [ConfigProblem(source, where, _lower_first(str(exc)))]


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _shown(value: object, show: bool) -> str:
    if not show:
        return f"a {type(value).__name__}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def read_toml(path: Path, error: type[ConfigError]) -> dict[str, Any]:
    """The parsed file, or `error` saying why it cannot be read (missing, unreadable, not TOML)."""
    source = str(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise error([ConfigProblem(source, "", "file not found")]) from None
    except OSError as exc:
        raise error([ConfigProblem(source, "", f"cannot read: {exc.strerror}")]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error([ConfigProblem(source, "", f"not valid TOML: {exc}")]) from None
