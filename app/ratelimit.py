"""A token bucket: `rate` a second on average, bursts up to `burst`; and one per key."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    _tokens: float = field(init=False)
    _stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = self.burst
        self._stamp = time.monotonic()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def wait_seconds(self) -> float:
        """How long until a token is available."""
        return max(0.0, (1.0 - self._tokens) / self.rate)


class BucketsByKey:
    """A token bucket per key (a client address, say), at most `capacity` of them:
    the least recently used is forgotten first, so keys an attacker makes up cost
    bounded memory. A rate of 0 turns the limit off."""

    def __init__(self, *, rate: float, burst: float, capacity: int = 10_000) -> None:
        self._rate = rate
        self._burst = burst
        self._capacity = capacity
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def get(self, key: str) -> TokenBucket | None:
        if self._rate <= 0:
            return None
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(self._rate, self._burst)
            if len(self._buckets) >= self._capacity:
                self._buckets.popitem(last=False)
        self._buckets[key] = bucket
        return bucket

    def __len__(self) -> int:
        return len(self._buckets)
