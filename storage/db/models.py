"""The metadata schema: the district registry, camera status, and every recorded object."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; SQLite would otherwise hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the hub stores aware UTC times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SegmentStatus(StrEnum):
    SPOOLED = "spooled"  # finished on local disk, waiting for the object store
    STORED = "stored"  # in the object store; the spool copy is gone
    DAMAGED = "damaged"  # a crash left a file nothing could be recovered from; kept for review
    DROPPED = "dropped"  # the spool quota ran out during a store outage; audited


class Town(Base):
    __tablename__ = "towns"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class School(Base):
    __tablename__ = "schools"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    town_id: Mapped[str | None] = mapped_column(ForeignKey("towns.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    boarding: Mapped[bool] = mapped_column(Boolean, default=False)


class Camera(Base):
    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    school_id: Mapped[str] = mapped_column(ForeignKey("schools.id"), index=True)
    kitchen_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    room: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class CameraStatus(Base):
    """The latest known state and stream statistics of each camera."""

    __tablename__ = "camera_status"
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    last_packet_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fps: Mapped[float | None] = mapped_column(Float)
    bitrate_kbps: Mapped[float | None] = mapped_column(Float)
    keyframe_interval_s: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CameraStateChange(Base):
    """One period in one state: the camera's history, outages with their reasons."""

    __tablename__ = "camera_state_log"
    __table_args__ = (Index("ix_camera_state_log_camera_started", "camera_id", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Segment(Base):
    """A continuous-recording MP4 segment and where its bytes are."""

    __tablename__ = "segments"
    __table_args__ = (Index("ix_segments_camera_start", "camera_id", "start_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(512), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    codec: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    stored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The cluster node whose spool holds the file until it is stored (only that node can
    # upload it); None on a one-node hub.
    spool_node: Mapped[str | None] = mapped_column(String(64))


class AuditEntry(Base):
    """Who did what to which footage, and what the system itself deleted or dropped."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))  # a user name, or "system"
    action: Mapped[str] = mapped_column(String(32))
    camera_id: Mapped[str | None] = mapped_column(String(64))
    object_key: Mapped[str | None] = mapped_column(String(512))
    detail: Mapped[str | None] = mapped_column(Text)


class Export(Base):
    """A footage export for an inspection: one MP4 for a camera and time range, cached."""

    __tablename__ = "exports"
    __table_args__ = (Index("ix_exports_camera_range", "camera_id", "start_at", "end_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, unguessable
    camera_id: Mapped[str] = mapped_column(ForeignKey("cameras.id"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())  # as requested
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    media_start_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the keyframe it starts at
    media_end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    object_key: Mapped[str] = mapped_column(String(512), unique=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    gaps: Mapped[str] = mapped_column(Text)  # JSON list of [start, end] ISO times without video
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class EventKind(StrEnum):
    VIOLATION = "violation"  # a hygiene violation or a pest, from the detector
    HEALTH = "health"  # a camera or hub health problem


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    URGENT = "urgent"


class Event(Base):
    """One violation or health problem, from its start to its end (None while it lasts).

    school_id and town_id are copied from the registry so every query filters by scope on
    the event row itself.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_school_started", "school_id", "started_at"),
        Index("ix_events_camera_started", "camera_id", "started_at"),
        Index("ix_events_town_started", "town_id", "started_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, unguessable
    kind: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    camera_id: Mapped[str | None] = mapped_column(ForeignKey("cameras.id"))
    school_id: Mapped[str | None] = mapped_column(ForeignKey("schools.id"))
    town_id: Mapped[str | None] = mapped_column(ForeignKey("towns.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confidence: Mapped[float | None] = mapped_column(Float)
    track_id: Mapped[str | None] = mapped_column(String(64))
    snapshot_key: Mapped[str | None] = mapped_column(String(512))
    frame_key: Mapped[str | None] = mapped_column(String(512))  # the same frame, unannotated
    clip_key: Mapped[str | None] = mapped_column(String(512))
    detail: Mapped[str | None] = mapped_column(Text)  # JSON with type-specific facts
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    ack_comment: Mapped[str | None] = mapped_column(Text)
    # An inspection's hold keeps the clip and snapshot past retention until released.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


# Tables owned by other packages live in their own modules and register on Base.metadata
# when imported here, so Alembic and create_all always see the whole schema.
from storage.db import (  # noqa: E402, F401
    models_accounts,
    models_alerts,
    models_health,
    models_links,
    models_supervision,
    models_suppression,
    models_verdicts,
)
