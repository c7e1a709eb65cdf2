"""Log-in rate limiting: failures per user name and per client address, in bounded memory.

A sliding window per key: a key is blocked while it has `limit` failures younger than the
window. Each key keeps at most `limit` timestamps and at most `max_keys` keys are tracked
(the least recently failed are forgotten first), so a flood of made-up names or addresses
costs a fixed amount of memory; it can evict a real key, which the per-address limit covers.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

__all__ = ["LoginLimiter", "SlidingWindow"]


class SlidingWindow:
    def __init__(
        self,
        *,
        limit: int,
        window_s: float,
        max_keys: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0 or max_keys < 1:
            raise ValueError("limit, window_s and max_keys must be positive")
        self._limit = limit
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, key: str) -> float | None:
        """Seconds until `key` may try again, or None when it may try now."""
        stamps = self._failures.get(key)
        if stamps is None or len(stamps) < self._limit:
            return None
        wait = stamps[0] + self._window_s - self._clock()
        if wait <= 0:
            return None
        return wait

    def fail(self, key: str) -> None:
        stamps = self._failures.pop(key, None)
        if stamps is None:
            stamps = deque(maxlen=self._limit)
        stamps.append(self._clock())
        self._failures[key] = stamps  # most recent last
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class LoginLimiter:
    """Both limits together; a success clears the user's count, never the address's."""

    def __init__(
        self,
        *,
        per_user: int,
        per_ip: int,
        window_s: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = SlidingWindow(
            limit=per_user, window_s=window_s, max_keys=max_keys, clock=clock
        )
        self._ips = SlidingWindow(limit=per_ip, window_s=window_s, max_keys=max_keys, clock=clock)

    def retry_after(self, username: str, ip: str) -> float | None:
        waits = [w for w in (self._users.retry_after(username), self._ips.retry_after(ip)) if w]
        return max(waits) if waits else None

    def failed(self, username: str, ip: str) -> None:
        self._users.fail(username)
        self._ips.fail(ip)

    def succeeded(self, username: str) -> None:
        self._users.clear(username)
