"""Continuous recording: copy-mode segments written to a local spool, then uploaded."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ._base import Section

__all__ = ["RecordingConfig"]


class RecordingConfig(Section):
    """Segment recording and the local spool that survives object-store outages."""

    enabled: bool = Field(default=True, description="Record every enabled camera.")
    segment_seconds: int = Field(
        default=60, ge=5, le=3600, description="Length of one MP4 segment (cut on a keyframe)."
    )
    spool_dir: Path = Field(
        default=Path("data/spool"),
        description="Local spool; a relative path is taken from the config file's folder.",
    )
    spool_quota_gb: float = Field(
        default=20.0, gt=0, description="Spool size above which the hub alerts: uploads lag."
    )
