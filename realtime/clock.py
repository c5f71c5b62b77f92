"""Time sources in integer nanoseconds since the Unix epoch (UTC).

Components take a `Clock` (or explicit timestamps) instead of reading the wall
clock themselves, so tests can drive time deterministically with `FakeClock`.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]

_NS_PER_S = 1_000_000_000


class Clock(Protocol):
    def now_ns(self) -> int: ...


class SystemClock:
    # The C function itself rather than a method calling it: the engine reads the
    # clock several times per order.
    now_ns = staticmethod(time.time_ns)


class FakeClock:
    """A clock that only moves when told to; it never goes backwards."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns

    def now_ns(self) -> int:
        return self._now_ns

    def advance(self, ns: int) -> int:
        if ns < 0:
            raise ValueError(f"cannot move a clock backwards (advance by {ns} ns)")
        self._now_ns += ns
        return self._now_ns

    def advance_s(self, seconds: float) -> int:
        return self.advance(round(seconds * _NS_PER_S))

    def set(self, ns: int) -> None:
        if ns < self._now_ns:
            raise ValueError(f"cannot move a clock backwards ({self._now_ns} -> {ns} ns)")
        self._now_ns = ns
