"""Raise after N bad evaluations in a row, clear after M good ones; unknowns change nothing.

A problem's interval runs from the first bad evaluation of the streak that raised it to the
first good one of the streak that cleared it, so history and uptime are not skewed by the
hysteresis delay.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Hysteresis"]


@dataclass(slots=True)
class Hysteresis:
    raise_after: int
    clear_after: int
    active: bool = False
    _bad: int = 0
    _good: int = 0
    _streak_at: float = 0.0

    def update(self, bad: bool | None, at: float) -> tuple[bool, float] | None:
        """Feed one evaluation made at `at`; returns (raised?, streak start) on a change."""
        if bad is None:
            return None
        if bad:
            if self._bad == 0:
                self._streak_at = at
            self._bad, self._good = self._bad + 1, 0
            if not self.active and self._bad >= self.raise_after:
                self.active = True
                return True, self._streak_at
        else:
            if self._good == 0:
                self._streak_at = at
            self._good, self._bad = self._good + 1, 0
            if self.active and self._good >= self.clear_after:
                self.active = False
                return False, self._streak_at
        return None

    def reset(self) -> bool:
        """Forget everything (the condition can no longer be judged); True if it was active."""
        was = self.active
        self.active, self._bad, self._good = False, 0, 0
        return was
