"""A camera's own normal: the median of its recent healthy measurements."""

from __future__ import annotations

import statistics
from collections import deque

__all__ = ["Baseline"]


class Baseline:
    """Median of the last `keep` healthy values; judges only after `min_samples`."""

    def __init__(self, min_samples: int, keep: int = 200) -> None:
        self._values: deque[float] = deque(maxlen=keep)
        self._min = min_samples
        self._median: float | None = None

    def add(self, value: float) -> None:
        self._values.append(value)
        self._median = None

    @property
    def ready(self) -> bool:
        return len(self._values) >= self._min

    @property
    def value(self) -> float | None:
        """The median once ready, else None."""
        if not self.ready:
            return None
        if self._median is None:
            self._median = statistics.median(self._values)
        return self._median

    def __len__(self) -> int:
        return len(self._values)
