"""Health history (owned by hub/health): every problem of a camera or the hub, start to end.

- camera_health_log: one row per problem period of one check; ended_at None while it lasts.
  Hub-wide checks (spool, object store, detector) have no camera. Rows of check
  "monitoring" record when the hub was watching at all (ended_at is a heartbeat), so
  uptime never counts the hub's own downtime against a school.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.db.models import Base, UTCDateTime

MONITORING = "monitoring"


class HealthPeriod(Base):
    __tablename__ = "camera_health_log"
    __table_args__ = (
        Index("ix_camera_health_log_camera_started", "camera_id", "started_at"),
        Index("ix_camera_health_log_check_ended", "check", "ended_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str | None] = mapped_column(ForeignKey("cameras.id"))
    check: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    event_id: Mapped[str | None] = mapped_column(String(32))  # the health event it raised
