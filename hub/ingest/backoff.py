"""Capped exponential backoff with jitter for reconnecting cameras."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delay before the next attempt: initial * 2^n, capped, spread by +-jitter.

    Jitter keeps a whole district of cameras from reconnecting in lockstep after a network
    blip. `reset()` after a connection that delivered video.
    """

    initial_s: float = 1.0
    max_s: float = 30.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self, *, longest: bool = False) -> float:
        """The wait before the next attempt; `longest` for failures a person must fix."""
        base = self.max_s if longest else min(self.max_s, self.initial_s * 2**self.attempts)
        self.attempts += 1
        spread = base * self.jitter
        return max(0.0, base + self.rng.uniform(-spread, spread))

    def reset(self) -> None:
        self.attempts = 0
