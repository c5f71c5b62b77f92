"""Per-account submit-rate throttle: a token bucket; excess orders are rejected, not queued."""

from __future__ import annotations


class TokenBucket:
    __slots__ = ("burst", "rate_per_ns", "tokens", "updated_ns")

    def __init__(self, rate_per_s: float, burst: int, now_ns: int) -> None:
        self.rate_per_ns = rate_per_s / 1e9
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated_ns = now_ns

    def _refill(self, now_ns: int) -> None:
        if now_ns > self.updated_ns:
            self.tokens = min(
                self.burst, self.tokens + (now_ns - self.updated_ns) * self.rate_per_ns
            )
            self.updated_ns = now_ns

    def available(self, now_ns: int) -> bool:
        # Tokens only grow with time, so a whole one now is still there later.
        if self.tokens >= 1.0:
            return True
        self._refill(now_ns)
        return self.tokens >= 1.0

    def take(self, now_ns: int) -> bool:
        self._refill(now_ns)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def reconfigure(self, rate_per_s: float, burst: int) -> None:
        self.rate_per_ns = rate_per_s / 1e9
        self.burst = float(burst)
        self.tokens = min(self.tokens, self.burst)
