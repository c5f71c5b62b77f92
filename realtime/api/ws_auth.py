"""API keys on WebSockets from a browser, without putting the key in a URL.

A browser cannot set headers on a WebSocket, and a key in the query string ends up
in URLs, history and logs. The page offers two subprotocols instead:
`tradepipe.v1` and `tradepipe.key.<base64url of the key, unpadded>`; the server takes
the key from the second and answers with the first. (Subprotocol names must be HTTP
tokens; base64url without padding is.)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Final

SUBPROTOCOL: Final = "tradepipe.v1"
KEY_PREFIX: Final = "tradepipe.key."


def key_from_subprotocols(offered: Iterable[str]) -> str | None:
    for name in offered:
        if name.startswith(KEY_PREFIX):
            encoded = name[len(KEY_PREFIX) :]
            try:
                padded = encoded + "=" * (-len(encoded) % 4)
                key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            return key or None
    return None


def chosen_subprotocol(offered: Iterable[str]) -> str | None:
    """The subprotocol to accept with: ours when the client offered it."""
    return SUBPROTOCOL if SUBPROTOCOL in offered else None
