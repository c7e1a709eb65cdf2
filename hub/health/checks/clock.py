"""Clock drift: the camera's ONVIF clock against the hub's, and its stream clock's pace."""

from __future__ import annotations

from typing import Final

from hub.config.health import CheckName, HealthThresholds
from hub.sampling import TimingSnapshot

from ..model import Finding

__all__ = ["judge_onvif_clock", "judge_stream_clock"]

_MIN_SPAN_S: Final = 60.0  # shorter spans are dominated by network jitter


def judge_onvif_clock(offset_s: float | None, th: HealthThresholds) -> Finding:
    """`offset_s`: camera UTC minus hub UTC from the last ONVIF reading (None: none yet)."""
    if offset_s is None:
        return Finding(CheckName.CLOCK, None)
    drift = abs(offset_s) > th.clock_offset_s
    way = "ahead of" if offset_s > 0 else "behind"
    detail = f"camera clock {abs(offset_s):.0f} s {way} the hub"
    return Finding(CheckName.CLOCK, drift, "clock_offset" if drift else "", detail)


def judge_stream_clock(timing: TimingSnapshot, th: HealthThresholds) -> Finding:
    """The stream's timestamps should advance as fast as the wall clock."""
    if timing.clock_span_s < _MIN_SPAN_S:
        return Finding(CheckName.STREAM_CLOCK, None)
    pace = timing.clock_drift_s / timing.clock_span_s
    drift = abs(pace) > th.stream_drift
    detail = f"stream time {timing.clock_drift_s:+.1f} s over {timing.clock_span_s:.0f} s"
    return Finding(CheckName.STREAM_CLOCK, drift, "timestamp_drift" if drift else "", detail)
