"""Suppression zones (owned by web/routes/suppression and hub/detection/suppression): a place
on one camera's picture where one rule's detections never count, e.g. the drain the detector
keeps taking for a rat. The hub proposes them from repeated false alarms at the same place;
a row exists only once a person decided: `accepted` (applied to the running detector at
once) or not (never proposed again for that place).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.db.models import Base, UTCDateTime


class SuppressionZone(Base):
    __tablename__ = "suppression_zones"
    __table_args__ = (Index("ix_suppression_zones_camera", "camera_id"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"))
    town_id: Mapped[str | None] = mapped_column(ForeignKey("towns.id"))
    type: Mapped[str] = mapped_column(String(32))  # the violation type it silences
    # The rectangle, corners normalised to the picture (0..1, origin top left).
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    false_alarms: Mapped[int] = mapped_column(Integer)  # what the proposal rested on
    accepted: Mapped[bool] = mapped_column(Boolean)
    decided_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
