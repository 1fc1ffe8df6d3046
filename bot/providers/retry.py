"""Our own retry policy for image calls.

The OpenAI client's built-in retries are off: it would retry a timed-out image call (which
may still be billed) and it retries `insufficient_quota` 429s that cannot succeed. Here we
retry only what is safe: 429s and 5xx answers, and connections that never reached the
server, waiting as long as `Retry-After` asks, up to a cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 1.0
    max_retry_after: float = 60.0

    def delay_before_retry(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return float(min(self.base_delay * 2 ** (attempt - 1), self.max_retry_after))


def parse_retry_after(headers: dict[str, str] | None, *, now: datetime | None = None) -> float | None:
    """Read `retry-after-ms` or `retry-after` (seconds or an HTTP date) from response headers."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    if (millis := lowered.get("retry-after-ms")) is not None:
        try:
            return max(float(millis) / 1000, 0.0)
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
