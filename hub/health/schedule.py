"""Kitchen open hours: outside them a dark picture is a closed kitchen, not a black one."""

from __future__ import annotations

from datetime import datetime, tzinfo

from hub.config.alerts import Weekday
from hub.config.health import KitchenHours, OpenHours

__all__ = ["KitchenSchedule"]

_WEEKDAYS = tuple(Weekday)  # Monday first, as datetime.weekday() counts


def _within(local: datetime, hours: OpenHours) -> bool:
    t, day = local.time(), local.weekday()
    if hours.start <= hours.end:
        return _WEEKDAYS[day] in hours.days and hours.start <= t < hours.end
    # Past midnight: the evening belongs to today, the small hours to yesterday's opening.
    if t >= hours.start:
        return _WEEKDAYS[day] in hours.days
    return t < hours.end and _WEEKDAYS[day - 1] in hours.days


class KitchenSchedule:
    """Open hours per (school, kitchen); a kitchen without any is always open."""

    def __init__(self, hours: tuple[KitchenHours, ...], tz: tzinfo) -> None:
        self._tz = tz
        self._by_kitchen = {(h.school, h.kitchen): h.open for h in hours}

    def open_at(self, school: str, kitchen: str | None, at: datetime) -> bool:
        periods = self._by_kitchen.get((school, kitchen)) or self._by_kitchen.get((school, None))
        if not periods:
            return True
        local = at.astimezone(self._tz)
        return any(_within(local, p) for p in periods)
