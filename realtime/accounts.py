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
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec

Sha256Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$")]


class _KeyEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    api_key_sha256: Sha256Hex


class _Document(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    accounts: dict[str, _KeyEntry] = {}
    admins: dict[str, _KeyEntry] = {}


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    is_admin: bool


class AccountsError(ValueError):
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
        path = Path(path)
        try:
            with path.open("rb") as fh:
                document = msgspec.convert(tomllib.load(fh), _Document)
        except FileNotFoundError as exc:
            raise AccountsError(f"{path}: file not found") from exc
        except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
            raise AccountsError(f"{path}: {exc}") from exc
        by_hash: dict[str, Principal] = {}
        entries = [(n, e, False) for n, e in document.accounts.items()]
        entries += [(n, e, True) for n, e in document.admins.items()]
        for name, entry, is_admin in entries:
            if entry.api_key_sha256 in by_hash:
                raise AccountsError(f"{path}: {name} shares an API key with another principal")
            by_hash[entry.api_key_sha256] = Principal(name, is_admin)
        return cls(by_hash)
