"""Live view (WebRTC) limits: what one hub lets its browsers watch at once."""

from __future__ import annotations

from pydantic import Field

from ._base import Section

__all__ = ["LiveConfig"]


class LiveConfig(Section):
    """Viewer caps and idle close; each passthrough viewer costs the hub ~3-4 % of a core."""

    max_viewers_per_camera: int = Field(
        default=16, ge=1, le=500, description="Live viewers one camera may have at once."
    )
    max_viewers_total: int = Field(
        default=64, ge=1, le=5000, description="Live viewers the whole hub serves at once."
    )
    idle_timeout_s: float = Field(
        default=15.0,
        ge=1,
        le=3600,
        description="A viewer not connected this long (never finished, or its page vanished) "
        "is closed.",
    )
