"""Our retry policy: backoff, Retry-After with a cap, and the headers it reads."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.providers.retry import RetryPolicy, parse_retry_after

POLICY = RetryPolicy(max_attempts=3, base_delay=1.0, max_retry_after=60)


def test_backoff_doubles_and_gives_up_after_the_last_attempt() -> None:
    assert [POLICY.delay_before_retry(n, None) for n in (1, 2, 3)] == [1.0, 2.0, None]


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    assert POLICY.delay_before_retry(1, 7.5) == 7.5
    assert POLICY.delay_before_retry(1, 61) is None


def test_retry_after_headers() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert parse_retry_after({"Retry-After": "12"}) == 12
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"Retry-After": "Tue, 24 Nov 2026 12:00:30 GMT"}, now=now) == 30
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None and parse_retry_after(None) is None
