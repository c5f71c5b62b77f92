"""The idempotency index, (account, client_order_id) -> (order_id, fingerprint), kept
where CPython's cyclic collector never looks.

A plain dict with tuple keys and tuple values is re-tracked by the collector on every
insert (a new tuple is tracked until a collection has examined it), so it sat in the
youngest generation and every collection, even the smallest, walked all its entries:
10-40 ms per collection at 200,000 orders (BENCHMARKS, the snapshot section of
2026-12-04). Here the entries live in dicts of str -> str and str -> bytes, one pair per
account, which the collector leaves untracked, each sharded (`realtime.sharded`) so
that no insert rebuilds a table of every client id. Same mapping interface as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from realtime.sharded import MASK, ShardedDict


class ClientIds:
    __slots__ = ("_fps", "_order_ids")

    def __init__(self) -> None:
        # account -> client_order_id -> order_id / fingerprint (two maps, no tuples)
        self._order_ids: dict[str, ShardedDict[str, str]] = {}
        self._fps: dict[str, ShardedDict[str, bytes]] = {}

    def get(self, key: tuple[str, str]) -> tuple[str, bytes] | None:
        account, client_order_id = key
        order_ids = self._order_ids.get(account)
        if order_ids is None:
            return None
        # One hash for both maps (same keys, so the same shard), no call per lookup.
        shard = hash(client_order_id) & MASK
        order_id = order_ids.shards[shard].get(client_order_id)
        if order_id is None:
            return None
        return order_id, self._fps[account].shards[shard][client_order_id]

    def __getitem__(self, key: tuple[str, str]) -> tuple[str, bytes]:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, tuple) or len(key) != 2:
            return False
        account, client_order_id = key
        order_ids = self._order_ids.get(account)
        return order_ids is not None and client_order_id in order_ids

    def __setitem__(self, key: tuple[str, str], value: tuple[str, bytes]) -> None:
        account, client_order_id = key
        order_ids, fps = self._maps(account)
        shard = hash(client_order_id) & MASK
        order_ids.shards[shard][client_order_id] = value[0]
        fps.shards[shard][client_order_id] = value[1]

    def add_first(self, account: str, client_order_id: str, order_id: str, fp: bytes) -> None:
        """`setdefault` without its key and value tuples or its answer: the first use of
        a client_order_id wins. Called for every new order."""
        order_ids, fps = self._maps(account)
        shard = hash(client_order_id) & MASK
        ids = order_ids.shards[shard]
        if client_order_id in ids:
            return
        ids[client_order_id] = order_id
        fps.shards[shard][client_order_id] = fp

    def _maps(self, account: str) -> tuple[ShardedDict[str, str], ShardedDict[str, bytes]]:
        """The account's two maps, made at its first client id."""
        order_ids = self._order_ids.get(account)
        if order_ids is None:
            order_ids = self._order_ids[account] = ShardedDict()
            self._fps[account] = ShardedDict()
        return order_ids, self._fps[account]

    def setdefault(self, key: tuple[str, str], value: tuple[str, bytes]) -> tuple[str, bytes]:
        found = self.get(key)
        if found is not None:
            return found
        self[key] = value
        return value

    def __delitem__(self, key: tuple[str, str]) -> None:
        account, client_order_id = key
        order_ids = self._order_ids.get(account)
        if order_ids is None or client_order_id not in order_ids:
            raise KeyError(key)
        del order_ids[client_order_id]
        del self._fps[account][client_order_id]

    def owned_fingerprints(self, account: str) -> tuple[Mapping[str, str], Mapping[str, bytes]]:
        """The account's client_order_id -> order_id and -> fingerprint maps, for a
        reader that walks many orders (a snapshot build) without a call per lookup."""
        order_ids = self._order_ids.get(account)
        if order_ids is None:
            return {}, {}
        return order_ids, self._fps[account]

    def __len__(self) -> int:
        return sum(len(ids) for ids in self._order_ids.values())

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for account, ids in self._order_ids.items():
            for client_order_id in ids:
                yield account, client_order_id
