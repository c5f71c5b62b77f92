"""A request example for every JSON body in the OpenAPI document.

Swagger UI's "Try it out" fills the body with the first example, so each one must be
accepted as it stands against the default configuration: the order examples are for
AAPL, in the default universe, and the first (the one sent) is a MARKET order, which no
price collar can refuse however far the market has walked from the reference price.
Keyed by the body's schema name; tests/web/test_docs.py checks that every body has
one and that each decodes with the struct the route enforces.
"""

from __future__ import annotations

from typing import Any, Final

REQUEST_EXAMPLES: Final[dict[str, dict[str, dict[str, Any]]]] = {
    "NewOrder": {
        "market_buy": {
            "summary": "Buy 10 AAPL at market",
            "value": {
                "client_order_id": "docs-market-1",
                "symbol": "AAPL",
                "side": "BUY",
                "quantity": 10,
                "order_type": "MARKET",
                "time_in_force": "DAY",
            },
        },
        "limit_sell": {
            "summary": "Sell 10 AAPL, limit 195.00, good till cancelled",
            "value": {
                "client_order_id": "docs-limit-1",
                "symbol": "AAPL",
                "side": "SELL",
                "quantity": 10,
                "order_type": "LIMIT",
                "limit_price": 195.0,
                "time_in_force": "GTC",
            },
        },
    },
    "ReplaceOrder": {
        "resize": {
            "summary": "New total quantity 20 and limit price 194.50",
            "value": {"quantity": 20, "limit_price": 194.5},
        },
    },
    "TradingStateUpdate": {
        "resume": {
            "summary": "Resume trading everywhere",
            "value": {"state": "ACTIVE", "reason": "resumed from the docs"},
        },
        "halt_account": {
            "summary": "Halt one account (the kill switch)",
            "value": {"state": "HALTED", "account": "bob", "reason": "runaway algo"},
        },
    },
}


def add_request_examples(document: dict[str, Any]) -> None:
    """Attach the examples to each JSON request body whose schema has them."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            media = content.get("application/json")
            if media is None or "example" in media or "examples" in media:
                continue
            name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            if name in REQUEST_EXAMPLES:
                media["examples"] = REQUEST_EXAMPLES[name]
