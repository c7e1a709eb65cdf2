"""The hub's own health: spool size, object-store reachability, detector backlog."""

from __future__ import annotations

from datetime import datetime

from hub.config.health import CheckName, HealthThresholds

from ..model import Finding

__all__ = ["judge_detector", "judge_object_store", "judge_spool"]


def judge_spool(usage_bytes: int, quota_bytes: int | None, th: HealthThresholds) -> Finding:
    if not quota_bytes:
        return Finding(CheckName.SPOOL, None)
    share = usage_bytes / quota_bytes
    full = share > th.spool_share
    detail = f"spool {usage_bytes / 1e9:.2f} of {quota_bytes / 1e9:.1f} GB ({share:.0%})"
    return Finding(CheckName.SPOOL, full, "spool_filling" if full else "", detail)


def judge_object_store(failing_since: datetime | None, now: datetime) -> Finding:
    if failing_since is None:
        return Finding(CheckName.OBJECT_STORE, False)
    minutes = (now - failing_since).total_seconds() / 60
    detail = f"uploads failing for {minutes:.0f} min; segments wait in the spool"
    return Finding(CheckName.OBJECT_STORE, True, "store_unreachable", detail)


def judge_detector(backlog: int | None, limit: int = 100) -> Finding:
    """`backlog`: frames waiting for inference; None while no detector runs."""
    if backlog is None:
        return Finding(CheckName.DETECTOR, None, "not_running", "detector not running")
    slow = backlog > limit
    detail = f"{backlog} frames waiting for the detector"
    return Finding(CheckName.DETECTOR, slow, "detector_backlog" if slow else "", detail)
