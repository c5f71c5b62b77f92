"""Entities: what features are keyed by. First of the definitions (sources, views and
services build on them)."""

from feast import Entity, ValueType

symbol = Entity(
    name="symbol",
    join_keys=["symbol"],
    value_type=ValueType.STRING,
    description="An instrument's symbol, as in config/instruments.toml (e.g. AAPL).",
    tags={"owner": "features", "domain": "market"},
)

account = Entity(
    name="account",
    join_keys=["account"],
    value_type=ValueType.STRING,
    description="A trading account, as in config/accounts.toml (e.g. alice).",
    tags={"owner": "features", "domain": "trading"},
)

ENTITIES = {"symbol": symbol, "account": account}
