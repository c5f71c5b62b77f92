"""Symbols as clients type them: upper case, and close matches for an unknown one.

A symbol is matched case-insensitively: `aapl` is AAPL everywhere (orders, the
pre-trade check, tickers, subscriptions), and the response and the journal say
AAPL. An unknown symbol answers `UNKNOWN_SYMBOL` with up to three close matches
(`difflib`, by similarity) in the detail and as `suggestions`.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable

from .problems import ApiError

MAX_SUGGESTIONS = 3
SIMILARITY_CUTOFF = 0.6  # difflib's ratio: 'APPL' vs 'AAPL' is 0.75, 'ZZZ' vs 'AAPL' is 0


def normalize(symbol: str) -> str:
    return symbol.strip().upper()


def close_matches(symbol: str, known: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(
        normalize(symbol), list(known), n=MAX_SUGGESTIONS, cutoff=SIMILARITY_CUTOFF
    )


def unknown_symbols_detail(unknown: list[str], known: Collection[str]) -> tuple[str, list[str]]:
    """The detail naming each unknown symbol with its close matches, and all matches."""
    parts, suggestions = [], []
    for symbol in unknown:
        matches = close_matches(symbol, known)
        suggestions += [m for m in matches if m not in suggestions]
        hint = f" (did you mean {', '.join(matches)}?)" if matches else ""
        parts.append(f"{symbol!r}{hint}")
    noun = "symbol" if len(unknown) == 1 else "symbols"
    return f"unknown {noun} {', '.join(parts)}; GET /instruments lists them", suggestions


def unknown_symbol_error(status: int, unknown: list[str], known: Collection[str]) -> ApiError:
    detail, suggestions = unknown_symbols_detail(unknown, known)
    return ApiError(status, "UNKNOWN_SYMBOL", detail, suggestions=suggestions)
