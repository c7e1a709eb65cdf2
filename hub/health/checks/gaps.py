"""Recording gaps: holes between a camera's segments while it was online."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from hub.config.health import CheckName, HealthThresholds

from ..model import Finding

__all__ = ["find_recording_gaps", "judge_recording"]

# The segment being written is not in the database yet; allow for it being indexed late.
_INDEX_SLACK_S: Final = 5.0


def find_recording_gaps(
    segments: Sequence[tuple[datetime, datetime]],
    *,
    online_since: datetime | None,
    now: datetime,
    segment_s: float,
    tolerance_s: float,
) -> list[tuple[datetime, datetime]]:
    """Holes longer than `tolerance_s` between segments (and since the last one) that lie
    wholly inside the current online period. Offline periods explain their own holes."""
    if online_since is None:
        return []
    tolerance = timedelta(seconds=tolerance_s)
    covered_until = online_since  # recording can only start at the first keyframe
    gaps: list[tuple[datetime, datetime]] = []
    for start, end in sorted(segments):
        if end <= online_since:
            continue
        if start - covered_until > tolerance:
            gaps.append((covered_until, start))
        covered_until = max(covered_until, end)
    # The current segment may be up to segment_s (plus a GOP) long before it is indexed.
    overdue = timedelta(seconds=segment_s + _INDEX_SLACK_S) + tolerance
    if now - covered_until > overdue:
        gaps.append((covered_until, now))
    return gaps


def judge_recording(gaps: list[tuple[datetime, datetime]], th: HealthThresholds) -> Finding:
    if not gaps:
        return Finding(CheckName.RECORDING_GAP, False)
    longest = max((end - start).total_seconds() for start, end in gaps)
    detail = f"{len(gaps)} gap(s) in recording, longest {longest:.0f} s"
    return Finding(CheckName.RECORDING_GAP, True, "missing_segments", detail)
