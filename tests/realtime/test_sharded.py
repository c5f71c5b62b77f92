"""ShardedDict behaves as the dict it replaces (realtime.sharded)."""

from __future__ import annotations

import random

import pytest

from realtime.sharded import SHARDS, ShardedDict


def test_behaves_like_a_dict_under_random_operations() -> None:
    rng = random.Random(7)
    sharded: ShardedDict[str, int] = ShardedDict()
    plain: dict[str, int] = {}
    for step in range(20_000):
        key = f"O{rng.randrange(3_000)}"
        op = rng.randrange(6)
        if op == 0:
            sharded[key] = plain[key] = step
        elif op == 1:
            assert sharded.pop(key, None) == plain.pop(key, None)
        elif op == 2:
            assert sharded.setdefault(key, step) == plain.setdefault(key, step)
        elif op == 3:
            assert sharded.get(key) == plain.get(key)
            assert (key in sharded) == (key in plain)
        elif op == 4 and key in plain:
            del sharded[key], plain[key]
        elif op == 5 and key in plain:
            assert sharded[key] == plain[key]
    assert len(sharded) == len(plain)
    assert sharded == plain and plain == sharded
    assert dict(sharded.items()) == plain
    assert sorted(sharded) == sorted(plain)
    assert sorted(sharded.values()) == sorted(plain.values())


def test_missing_keys_raise_key_error() -> None:
    sharded: ShardedDict[str, int] = ShardedDict()
    with pytest.raises(KeyError):
        sharded["nope"]
    with pytest.raises(KeyError):
        del sharded["nope"]
    with pytest.raises(KeyError):
        sharded.pop("nope")
    assert sharded == {} and not sharded


def test_no_shard_holds_more_than_a_fair_share() -> None:
    # What the sharding is for: each table rebuild covers ~1/SHARDS of the keys.
    sharded: ShardedDict[str, int] = ShardedDict()
    n = SHARDS * 1_000
    for i in range(n):
        sharded[f"O{i}"] = i
    assert max(len(shard) for shard in sharded._shards) < 2 * n // SHARDS
    sharded.clear()
    assert len(sharded) == 0
