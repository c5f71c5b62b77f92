"""The page's WebSocket key (a subprotocol, never a URL) decodes exactly, or not at all."""

from __future__ import annotations

import base64

from realtime.api.ws_auth import SUBPROTOCOL, chosen_subprotocol, key_from_subprotocols


def encoded(key: str) -> str:
    return "tradepipe.key." + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def test_key_subprotocol_when_unpadded_base64url_then_the_key_comes_back() -> None:
    for key in ("alice-demo-key", "k", "ünïcode/+key=="):
        assert key_from_subprotocols([SUBPROTOCOL, encoded(key)]) == key


def test_key_subprotocol_when_missing_or_garbled_then_no_key() -> None:
    assert key_from_subprotocols([SUBPROTOCOL]) is None
    assert key_from_subprotocols(["tradepipe.key.%%%"]) is None
    assert key_from_subprotocols(["tradepipe.key.gA"]) is None  # not UTF-8


def test_accepted_subprotocol_only_when_offered() -> None:
    assert chosen_subprotocol([SUBPROTOCOL, encoded("x")]) == SUBPROTOCOL
    assert chosen_subprotocol([]) is None
