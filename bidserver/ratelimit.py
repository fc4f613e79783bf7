"""Rate limits shared by the edges: a token bucket per live-room connection, and one per
principal for bids over HTTP (so the API is no way around the live room's limit).

Refusals carry the one rate-limit code, ``Reason.RATE_LIMITED`` (``wire.rate_limited``).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Hashable

from .clock import monotonic_s


class TokenBucket:
    """A rate limit (per connection, or per principal for HTTP bids): ``rate`` messages per second
    with bursts up to ``burst``."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = monotonic_s()

    def take(self) -> bool:
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def retry_after_ms(self) -> int:
        """How long until ``take`` can succeed (0: now), rounded up to the millisecond: what a
        refused client is told to wait."""
        self._refill()
        return max(0, math.ceil((1 - self.tokens) / self.rate * 1000))

    def _refill(self) -> None:
        now = monotonic_s()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


class BucketsByKey:
    """One ``TokenBucket`` per key (an HTTP principal), at most ``capacity`` of them.

    Why: a bid over HTTP has no connection to hang a bucket on, so without this the API would be
    a way around the live room's limit. The least recently used bucket goes first when full, which
    bounds memory whatever the number of callers; a bucket evicted that way starts full again,
    which only favours a principal idle for longer than ``capacity`` others took to arrive.
    """

    __slots__ = ("rate", "burst", "capacity", "_buckets")

    def __init__(self, rate: float, burst: float, *, capacity: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.capacity = capacity
        self._buckets: collections.OrderedDict[Hashable, TokenBucket] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: Hashable) -> bool:
        return self._bucket(key).take()

    def retry_after_ms(self, key: Hashable) -> int:
        return self._bucket(key).retry_after_ms()

    def _bucket(self, key: Hashable) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
            if len(self._buckets) > self.capacity:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket
