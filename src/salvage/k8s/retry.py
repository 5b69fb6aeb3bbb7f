"""When a request to the API server is tried again: bounded, with backoff, and said.

A read (GET, HEAD) is tried again after any transport failure (a reset, a connection
closed mid-body, a timeout) and after 429 or a 5xx answer: reading twice changes nothing.
A write is tried again only when it surely never reached the server (no connection could
be made) or the server said 429 (not processed): a write whose answer was lost may have
happened, and doing it twice is for the caller to decide (``create_if_absent`` does).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

READS = frozenset({"GET", "HEAD"})
_READ_STATUSES = frozenset({429, 500, 502, 503, 504})
# No connection was made, so no request was sent: safe for any method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in all, the first included
    first_delay: float = 0.25  # seconds before the second try; doubled for each next one
    max_delay: float = 4.0
    give_up_after: float = 60.0  # no new try once this many seconds have passed since the first
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def delay(self, retry: int) -> float:
        """Seconds before retry number ``retry`` (1 for the second try), with jitter so that
        many clients do not come back at once."""
        base = min(self.max_delay, self.first_delay * 2 ** (retry - 1))
        return base * random.uniform(0.5, 1.0)


NO_RETRY = RetryPolicy(attempts=1)


def retryable_error(method: str, exc: httpx.HTTPError) -> bool:
    if isinstance(exc, _NOT_SENT):
        return True
    return method in READS and isinstance(exc, httpx.TransportError)


def retryable_status(method: str, status: int) -> bool:
    return status == 429 or (method in READS and status in _READ_STATUSES)


def retry_after(response: httpx.Response, default: float, cap: float) -> float:
    """The server's Retry-After (seconds) when it gave one, at most ``cap``."""
    try:
        return min(cap, max(0.0, float(response.headers.get("Retry-After", ""))))
    except ValueError:
        return default
