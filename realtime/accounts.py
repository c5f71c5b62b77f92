"""Who may call the API: per-account API keys, stored only as SHA-256 hashes.

    [accounts.alice]
    api_key_sha256 = "9f86d0..."

    [admins.ops]
    api_key_sha256 = "..."

Keys are high-entropy random tokens, so a plain SHA-256 is the right hash (a
slow password hash would only add latency to every request). Keys are compared
by hash lookup and never logged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

from realtime.config_errors import ConfigError, ConfigProblem, check_table, read_toml

Sha256Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]


class _KeyEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    api_key_sha256: Sha256Hex


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    is_admin: bool


class AccountsError(ConfigError):
    code = "INVALID_ACCOUNTS"


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class AccountDirectory:
    def __init__(self, by_hash: dict[str, Principal]) -> None:
        self._by_hash = by_hash

    @property
    def accounts(self) -> list[str]:
        return sorted(p.name for p in self._by_hash.values() if not p.is_admin)

    def authenticate(self, api_key: str | None) -> Principal | None:
        if not api_key:
            return None
        return self._by_hash.get(hash_key(api_key))

    @classmethod
    def load(cls, path: str | Path) -> AccountDirectory:
        """Load the accounts file; AccountsError names each bad account or admin (never
        the value: a pasted plain key must not end up in a log)."""
        path = Path(path)
        source = str(path)
        document = read_toml(path, AccountsError)
        problems = [
            ConfigProblem(
                source, name, "unknown top-level key (expected [accounts.NAME] or [admins.NAME])"
            )
            for name in document
            if name not in ("accounts", "admins")
        ]
        by_hash: dict[str, Principal] = {}
        for kind, is_admin in (("accounts", False), ("admins", True)):
            table = document.get(kind, {})
            if not isinstance(table, dict):
                problems.append(
                    ConfigProblem(source, f"[{kind}]", f"must be a table of [{kind}.NAME] tables")
                )
                continue
            for name, entry in table.items():
                where = f"[{kind}.{name}]"
                key, found = check_table(
                    entry, _KeyEntry, source=source, where=where, show_values=False
                )
                problems += found
                if key is None:
                    continue
                other = by_hash.get(key.api_key_sha256)
                if other is not None:
                    problems.append(
                        ConfigProblem(
                            source, f"{where} api_key_sha256", f"the same API key as {other.name}"
                        )
                    )
                    continue
                by_hash[key.api_key_sha256] = Principal(name, is_admin)
        if problems:
            raise AccountsError(problems)
        return cls(by_hash)
