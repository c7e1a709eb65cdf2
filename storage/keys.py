"""Object keys: readable paths an inspector can browse, in the district's local time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def segment_key(school_id: str, camera_id: str, start_at: datetime, tz: ZoneInfo) -> str:
    """recordings/<school>/<camera>/<YYYY-MM-DD>/<HH>/<YYYYMMDDTHHMMSS.mmm+0800>.mp4"""
    local = start_at.astimezone(tz)
    stamp = local.strftime("%Y%m%dT%H%M%S") + f".{local.microsecond // 1000:03d}"
    stamp += local.strftime("%z")
    return f"recordings/{school_id}/{camera_id}/{local:%Y-%m-%d}/{local:%H}/{stamp}.mp4"


def evidence_key(
    school_id: str, camera_id: str, taken_at: datetime, tz: ZoneInfo, evidence_id: str
) -> str:
    """snapshots/<school>/<camera>/<YYYY-MM-DD>/<YYYYMMDDTHHMMSS+0800>-round-<id>.jpg

    Beside the school's event snapshots, so the same scope, lifecycle rule and retention
    apply to an inspection round's evidence."""
    local = taken_at.astimezone(tz)
    stamp = local.strftime("%Y%m%dT%H%M%S%z")
    return f"snapshots/{school_id}/{camera_id}/{local:%Y-%m-%d}/{stamp}-round-{evidence_id}.jpg"


HARD_EXAMPLES = "hard-examples"  # frames kept for training, with their own retention


def hard_example_key(
    school_id: str, camera_id: str, at: datetime, tz: ZoneInfo, verdict_id: str
) -> str:
    """hard-examples/<school>/<camera>/<YYYY-MM-DD>/<YYYYMMDDTHHMMSS+0800>-<verdict>.jpg"""
    local = at.astimezone(tz)
    stamp = local.strftime("%Y%m%dT%H%M%S%z")
    return f"{HARD_EXAMPLES}/{school_id}/{camera_id}/{local:%Y-%m-%d}/{stamp}-{verdict_id}.jpg"
