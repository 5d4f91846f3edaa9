"""Rate limiting: a token bucket per key (a learner's token hash, or a client's address).

A flooding learner empties only their own bucket and gets 429 with Retry-After; the others keep
theirs. Buckets live in the worker's memory: with N workers a client may get up to N times the
rate, which still bounds it. Pure but for the clock the caller passes in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Bucket:
    tokens: float
    stamp: float


class Limiter:
    def __init__(self, rate: float, burst: float, max_keys: int = 50_000):
        self.rate = rate  # tokens added per second
        self.burst = burst  # the bucket's size
        self.max_keys = max_keys
        self._buckets: dict[str, Bucket] = {}

    def take(self, key: str, now: float) -> float:
        """0 if the request may go on, else the seconds to wait before the next one."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they hold nothing worth remembering."""
        for key in [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self.rate >= self.burst
        ]:
            del self._buckets[key]
