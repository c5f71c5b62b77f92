"""The per-account submit-rate throttle: a token bucket on the caller's clock."""

from __future__ import annotations

import pytest

from realtime.throttle import TokenBucket

S = 1_000_000_000
T0 = 1_000 * S


def test_bucket_when_new_then_full_burst_available_and_then_empty() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=3, now_ns=T0)
    assert [bucket.take(T0) for _ in range(4)] == [True, True, True, False]
    assert not bucket.available(T0)


def test_bucket_when_time_passes_then_refills_at_the_rate() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=3, now_ns=T0)
    for _ in range(3):
        assert bucket.take(T0)
    assert not bucket.take(T0 + S // 10 - 1)  # 0.0999... of a token
    assert bucket.take(T0 + S // 10)  # exactly one token after 100 ms
    assert not bucket.take(T0 + S // 10)


def test_bucket_when_idle_long_then_capped_at_burst() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=3, now_ns=T0)
    bucket.take(T0)
    later = T0 + 3_600 * S
    assert [bucket.take(later) for _ in range(4)] == [True, True, True, False]


def test_available_when_asked_then_does_not_use_a_token() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=1, now_ns=T0)
    assert bucket.available(T0) and bucket.available(T0)
    assert bucket.take(T0)
    assert not bucket.available(T0)


def test_bucket_when_clock_goes_backwards_then_no_tokens_are_minted() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=2, now_ns=T0)
    assert bucket.take(T0) and bucket.take(T0)
    assert not bucket.take(T0 - S)  # an earlier time refills nothing
    assert not bucket.take(T0)  # and does not move the refill point back
    assert bucket.take(T0 + S // 10)


def test_reconfigure_when_burst_shrinks_then_tokens_are_capped_and_new_rate_applies() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=10, now_ns=T0)
    bucket.reconfigure(rate_per_s=1.0, burst=2)
    assert bucket.tokens == 2.0
    assert [bucket.take(T0) for _ in range(3)] == [True, True, False]
    assert not bucket.take(T0 + S // 2)  # half a token at the new rate
    assert bucket.take(T0 + S)


def test_reconfigure_when_burst_grows_then_tokens_are_kept_not_topped_up() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=2, now_ns=T0)
    bucket.take(T0)
    bucket.reconfigure(rate_per_s=10.0, burst=5)
    assert bucket.tokens == pytest.approx(1.0)
    assert bucket.burst == 5.0
