"""A mapping split into a fixed number of plain dicts by key hash, so that no single
insert rebuilds a table of every entry.

A dict grows by rebuilding its whole table: the insert that finds it two thirds full
allocates one twice as large (fresh memory, so page faults) and re-indexes every key.
At 349,526 order ids that one insert took 13 ms, and an accepted order goes into five
maps keyed by order or client id (orders, slots, open orders, the idempotency index's
two), which all grow at the same insert: one submit held the event loop for 90-150 ms
once per run at 200,000-520,000 orders (BENCHMARKS, the stall section of 2026-12-04).
Split 64 ways, each shard holds 1/64 of the keys and rebuilds 1/64 of the table, at its
own insert.

Iteration goes shard by shard, so it is NOT in insertion order (and the order of
str keys changes from process to process with hash randomisation): a caller that
needs creation order walks a creation-ordered log (`EngineState.open_orders`).
Changing the mapping while iterating it is an error that is only detected within
the shard being read: iterate over a copy (`list(...)`) to change it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
D = TypeVar("D")

SHARDS = 64  # a power of two: a key's shard is shards[hash(key) & MASK]
MASK = SHARDS - 1
_MASK = MASK
_MISSING: Any = object()


class ShardedDict(MutableMapping[K, V]):
    __slots__ = ("_shards", "shards")

    def __init__(self) -> None:
        self._shards: list[dict[K, V]] = [{} for _ in range(SHARDS)]
        # The same list, for a caller on a hot path that indexes it itself
        # (shards[hash(key) & MASK]) rather than pay a Python call per lookup.
        self.shards = self._shards

    def __getitem__(self, key: K) -> V:
        return self._shards[hash(key) & _MASK][key]

    def __setitem__(self, key: K, value: V) -> None:
        self._shards[hash(key) & _MASK][key] = value

    def __delitem__(self, key: K) -> None:
        del self._shards[hash(key) & _MASK][key]

    def __contains__(self, key: object) -> bool:
        return key in self._shards[hash(key) & _MASK]

    @overload
    def get(self, key: K, /) -> V | None: ...
    @overload
    def get(self, key: K, default: V | D, /) -> V | D: ...
    def get(self, key: K, default: Any = None) -> Any:
        return self._shards[hash(key) & _MASK].get(key, default)

    @overload
    def pop(self, key: K, /) -> V: ...
    @overload
    def pop(self, key: K, default: V | D, /) -> V | D: ...
    def pop(self, key: K, default: Any = _MISSING) -> Any:
        shard = self._shards[hash(key) & _MASK]
        if default is _MISSING:
            return shard.pop(key)
        return shard.pop(key, default)

    def setdefault(self, key: K, default: V) -> V:
        return self._shards[hash(key) & _MASK].setdefault(key, default)

    def __len__(self) -> int:
        return sum(map(len, self._shards))

    def __iter__(self) -> Iterator[K]:
        for shard in self._shards:
            yield from shard

    def clear(self) -> None:
        for shard in self._shards:
            shard.clear()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and all(
            k in other and other[k] == v for k, v in self.items()
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like dict

    def __repr__(self) -> str:
        return f"ShardedDict({dict(self.items())!r})"
