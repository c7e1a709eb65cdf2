"""Uptime from the health history: pure functions over time intervals.

A camera is down while any DOWN_CHECKS problem is open; it is observed while the hub was
monitoring. Uptime = 1 - down / observed within a period (a local day or month, district
time zone). Roll-ups average the cameras' uptimes, so every camera weighs the same in the
monthly assessment of its school, town and district.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = ["Uptime", "day_range", "merge", "month_range", "overlap", "rollup", "uptime"]

Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Uptime:
    observed_s: float
    down_s: float

    @property
    def ratio(self) -> float | None:
        """Share of the observed time the camera was up; None if it was never observed."""
        if self.observed_s <= 0:
            return None
        return max(0.0, 1.0 - self.down_s / self.observed_s)


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, non-overlapping spans covering the same time."""
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def overlap(a: list[Span], b: list[Span]) -> float:
    """Seconds covered by both merged span lists."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            total += (end - start).total_seconds()
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def uptime(down: Iterable[Span], observed: Iterable[Span], period: Span) -> Uptime:
    window = [period]
    seen = merge(observed)
    observed_s = overlap(seen, window)
    down_in_window = [
        (max(s, period[0]), min(e, period[1])) for s, e in merge(down) if e > period[0]
    ]
    return Uptime(observed_s, overlap(merge(down_in_window), seen))


def day_range(day: date, tz: tzinfo) -> Span:
    start = datetime.combine(day, time(0), tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def week_range(day: date, tz: tzinfo) -> Span:
    """The local week (Monday to Monday) holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return day_range(monday, tz)[0], day_range(monday + timedelta(days=7), tz)[0]


def month_range(year: int, month: int, tz: tzinfo) -> Span:
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def rollup(per_camera: Mapping[str, Uptime], group_of: Mapping[str, str]) -> dict[str, float]:
    """Mean uptime of the observed cameras of each group (camera id -> group id)."""
    sums: dict[str, list[float]] = {}
    for camera_id, figure in per_camera.items():
        ratio = figure.ratio
        if ratio is not None and camera_id in group_of:
            sums.setdefault(group_of[camera_id], []).append(ratio)
    return {group: sum(values) / len(values) for group, values in sums.items()}
