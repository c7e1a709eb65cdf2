"""Stream statistics against the camera's own baseline: frame rate, bitrate, keyframes."""

from __future__ import annotations

import statistics

from hub.config.health import CheckName, HealthThresholds

from ..model import Finding

__all__ = ["judge_bitrate", "judge_fps", "judge_keyframes"]


def judge_fps(fps: float, baseline: float | None, th: HealthThresholds) -> Finding:
    if baseline is None or baseline <= 0:
        return Finding(CheckName.LOW_FPS, None, "learning")
    low = fps < th.low_fps_ratio * baseline
    detail = f"{fps:.1f} fps, normally {baseline:.1f}"
    return Finding(CheckName.LOW_FPS, low, "low_frame_rate" if low else "", detail)


def judge_bitrate(kbps: float, baseline: float | None, th: HealthThresholds) -> Finding:
    if baseline is None or baseline <= 0:
        return Finding(CheckName.LOW_BITRATE, None, "learning")
    low = kbps < th.low_bitrate_ratio * baseline
    detail = f"{kbps:.0f} kbit/s, normally {baseline:.0f}"
    return Finding(CheckName.LOW_BITRATE, low, "low_bitrate" if low else "", detail)


def judge_keyframes(
    intervals: tuple[float, ...], baseline: float | None, th: HealthThresholds
) -> Finding:
    """Too long (absolute, or against the baseline) or irregular keyframe intervals."""
    if len(intervals) < 3:
        return Finding(CheckName.KEYFRAMES, None, "learning")
    mean = statistics.fmean(intervals)
    longest = max(intervals)
    detail = f"keyframe every {mean:.1f} s (longest {longest:.1f} s)"
    limit = th.keyframe_max_s
    if baseline is not None and baseline > 0:
        limit = min(limit, th.keyframe_ratio * baseline)
    if longest > limit:
        return Finding(CheckName.KEYFRAMES, True, "long_keyframe_interval", detail)
    spread = statistics.pstdev(intervals) / mean if mean > 0 else 0.0
    if spread > th.keyframe_irregular:
        return Finding(
            CheckName.KEYFRAMES, True, "irregular_keyframes", f"{detail}, spread {spread:.0%}"
        )
    return Finding(CheckName.KEYFRAMES, False, "", detail)
