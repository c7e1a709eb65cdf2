"""Retention: expired footage leaves the store and the database together; held footage stays.

Recordings are kept `recordings_days` after they end, violation clips, snapshots and frames
`clips_days` after their event starts (per district, overridable per school), inspection
rounds' evidence snapshots `clips_days` after they were taken (they live beside event
snapshots), and the verdicts' hard examples `hard_examples_days` after the verdict was given.
A segment, event or verdict under legal hold (set during an inspection) is never deleted
until released. Each
run writes one audit entry per camera it deleted from. On S3 the same policy is also set as
bucket lifecycle rules, one day later than the job, as a backstop if the hub is down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute

from storage.db.database import Database
from storage.db.models import AuditEntry, Camera, Event, Segment, SegmentStatus
from storage.db.models_supervision import InspectionEvidence, InspectionRound
from storage.db.models_verdicts import Verdict
from storage.keys import HARD_EXAMPLES
from storage.objectstore import ObjectStore

log = logging.getLogger(__name__)

_BATCH: Final = 500
LIFECYCLE_MARGIN_DAYS: Final = 1  # the store's own expiry trails the job, never precedes it


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    recordings_days: int = 30
    clips_days: int = 180
    hard_examples_days: int = 365
    recordings_by_school: Mapping[str, int] = field(default_factory=dict)
    clips_by_school: Mapping[str, int] = field(default_factory=dict)

    def recordings_days_for(self, school_id: str) -> int:
        return self.recordings_by_school.get(school_id, self.recordings_days)

    def clips_days_for(self, school_id: str) -> int:
        return self.clips_by_school.get(school_id, self.clips_days)

    def lifecycle_rules(self, school_ids: list[str]) -> dict[str, int]:
        """Object-store expiry per key prefix, trailing this policy by a margin."""
        rules = {}
        for school in school_ids:
            rules[f"recordings/{school}/"] = self.recordings_days_for(school)
            rules[f"clips/{school}/"] = self.clips_days_for(school)
            rules[f"snapshots/{school}/"] = self.clips_days_for(school)
            rules[f"frames/{school}/"] = self.clips_days_for(school)
            rules[f"{HARD_EXAMPLES}/{school}/"] = self.hard_examples_days
        return {prefix: days + LIFECYCLE_MARGIN_DAYS for prefix, days in rules.items()}


@dataclass(frozen=True, slots=True)
class RetentionReport:
    deleted: int
    bytes_freed: int
    kept_on_hold: int
    clips_deleted: int = 0
    hard_examples_deleted: int = 0
    evidence_deleted: int = 0


async def apply_retention(
    db: Database, store: ObjectStore, policy: RetentionPolicy, *, now: datetime
) -> RetentionReport:
    """Delete every expired, unheld recording segment from the store, then its row."""
    deleted = freed = 0
    async with db.session() as session:
        schools = list(await session.scalars(select(Camera.school_id).distinct()))
    held = 0
    for school in schools:
        cutoff = now - timedelta(days=policy.recordings_days_for(school))
        expired = (
            select(Segment)
            .join(Camera, Camera.id == Segment.camera_id)
            .where(
                Camera.school_id == school,
                Segment.end_at < cutoff,
                Segment.status != SegmentStatus.SPOOLED,  # not uploaded yet: never lose it
            )
            .order_by(Segment.start_at)
        )
        while True:
            async with db.session() as session:
                batch = list(
                    await session.scalars(
                        expired.where(Segment.legal_hold.is_(False)).limit(_BATCH)
                    )
                )
            if not batch:
                break
            for segment in batch:
                if segment.status == SegmentStatus.STORED:
                    await store.delete(segment.object_key)
            async with db.session() as session:
                await session.execute(delete(Segment).where(Segment.id.in_([s.id for s in batch])))
                for camera_id in sorted({s.camera_id for s in batch}):
                    mine = [s for s in batch if s.camera_id == camera_id]
                    session.add(
                        AuditEntry(
                            at=now,
                            actor="system",
                            action="retention_delete",
                            camera_id=camera_id,
                            detail=f"{len(mine)} segment(s) from {mine[0].start_at.isoformat()} "
                            f"to {mine[-1].end_at.isoformat()} (kept "
                            f"{policy.recordings_days_for(school)} days)",
                        )
                    )
            deleted += len(batch)
            freed += sum(s.bytes for s in batch if s.status == SegmentStatus.STORED)
        async with db.session() as session:
            held += len(list(await session.scalars(expired.where(Segment.legal_hold.is_(True)))))
    if deleted:
        log.info("retention deleted %d segment(s), %.1f MB", deleted, freed / 1e6)
    clips = await _expire_event_media(db, store, policy, schools, now=now)
    examples = await _expire_hard_examples(db, store, policy, now=now)
    evidence = await _expire_evidence(db, store, policy, schools, now=now)
    return RetentionReport(deleted=deleted, bytes_freed=freed, kept_on_hold=held,
                           clips_deleted=clips, hard_examples_deleted=examples,
                           evidence_deleted=evidence)  # fmt: skip


async def _expire_media(
    db: Database,
    store: ObjectStore,
    expired: Select[Any],
    keys: tuple[InstrumentedAttribute[str | None], ...],
    *,
    now: datetime,
    action: str,
    detail: str,
) -> int:
    """Delete the objects named in `keys` of every row `expired` selects, then clear those
    columns, batch by batch; the rows stay as the record. `expired` must stop selecting a row
    once its keys are cleared. One audit entry per batch, its `detail` with {n} for the
    batch's size; returns the rows expired."""
    model = keys[0].class_
    removed = 0
    while True:
        async with db.session() as session:
            rows = list(await session.scalars(expired.limit(_BATCH)))
        if not rows:
            return removed
        for row in rows:
            for column in keys:
                key = getattr(row, column.key)
                if key is not None:
                    await store.delete(key)
        async with db.session() as session:
            await session.execute(
                update(model)
                .where(model.id.in_([r.id for r in rows]))
                .values({column.key: None for column in keys})
            )
            session.add(
                AuditEntry(at=now, actor="system", action=action, detail=detail.format(n=len(rows)))
            )
        removed += len(rows)


async def _expire_event_media(
    db: Database, store: ObjectStore, policy: RetentionPolicy, schools: list[str], *, now: datetime
) -> int:
    """Remove violation clips, snapshots and frames past `clips_days`; the event rows stay
    as the record of what happened, with their media keys cleared."""
    removed = 0
    for school in schools:
        days = policy.clips_days_for(school)
        keys = (Event.clip_key, Event.snapshot_key, Event.frame_key)
        expired = select(Event).where(
            Event.school_id == school,
            Event.started_at < now - timedelta(days=days),
            Event.legal_hold.is_(False),
            or_(*(key.is_not(None) for key in keys)),
        )
        removed += await _expire_media(
            db, store, expired, keys, now=now, action="retention_delete_clips",
            detail=f"{{n}} event clip(s) of school {school} (kept {days} days)",
        )  # fmt: skip
    return removed


async def _expire_hard_examples(
    db: Database, store: ObjectStore, policy: RetentionPolicy, *, now: datetime
) -> int:
    """Remove hard examples past `hard_examples_days`; the verdict rows (labels, who, when)
    stay, with their keys cleared."""
    days = policy.hard_examples_days
    expired = select(Verdict).where(
        Verdict.created_at < now - timedelta(days=days),
        Verdict.legal_hold.is_(False),
        Verdict.hard_example_key.is_not(None),
    )
    return await _expire_media(
        db, store, expired, (Verdict.hard_example_key,), now=now,
        action="retention_delete_hard_examples",
        detail=f"{{n}} hard example(s) (kept {days} days)",
    )  # fmt: skip


async def _expire_evidence(
    db: Database, store: ObjectStore, policy: RetentionPolicy, schools: list[str], *, now: datetime
) -> int:
    """Remove round evidence snapshots past `clips_days`; the rounds and their evidence rows
    (who, which camera, when) stay, with the keys cleared. On S3 the snapshots/ lifecycle
    rule would expire them too; this keeps the rows honest and the local store in step."""
    removed = 0
    for school in schools:
        days = policy.clips_days_for(school)
        expired = (
            select(InspectionEvidence)
            .join(InspectionRound, InspectionRound.id == InspectionEvidence.round_id)
            .where(
                InspectionRound.school_id == school,
                InspectionEvidence.taken_at < now - timedelta(days=days),
                InspectionEvidence.object_key.is_not(None),
            )
        )
        removed += await _expire_media(
            db, store, expired, (InspectionEvidence.object_key,), now=now,
            action="retention_delete_evidence",
            detail=f"{{n}} inspection snapshot(s) of school {school} (kept {days} days)",
        )  # fmt: skip
    return removed


async def set_legal_hold(
    db: Database,
    store: ObjectStore,
    camera_id: str,
    start: datetime,
    end: datetime,
    *,
    on: bool,
    actor: str,
    now: datetime,
) -> int:
    """Hold (or release) every segment of a camera overlapping [start, end); returns how many.

    The database flag is authoritative; S3 object legal hold is applied where the bucket
    supports it, so not even a bucket administrator's lifecycle rule can remove held footage.
    """
    async with db.session() as session:
        segments = list(
            await session.scalars(
                select(Segment).where(
                    Segment.camera_id == camera_id, Segment.end_at > start, Segment.start_at < end
                )
            )
        )
        await session.execute(
            update(Segment).where(Segment.id.in_([s.id for s in segments])).values(legal_hold=on)
        )
        events = list(
            await session.scalars(
                select(Event).where(
                    Event.camera_id == camera_id,
                    Event.started_at < end,
                    or_(Event.ended_at.is_(None), Event.ended_at > start),
                )
            )
        )
        await session.execute(
            update(Event).where(Event.id.in_([e.id for e in events])).values(legal_hold=on)
        )
        verdicts = list(
            await session.scalars(
                select(Verdict).where(
                    Verdict.camera_id == camera_id, Verdict.at >= start, Verdict.at < end
                )
            )
        )
        await session.execute(
            update(Verdict).where(Verdict.id.in_([v.id for v in verdicts])).values(legal_hold=on)
        )
        session.add(
            AuditEntry(
                at=now,
                actor=actor,
                action="legal_hold" if on else "legal_hold_release",
                camera_id=camera_id,
                detail=f"{len(segments)} segment(s), {len(events)} event clip(s) "
                f"{start.isoformat()} – {end.isoformat()}",
            )
        )
    for segment in segments:
        if segment.status == SegmentStatus.STORED:
            await store.set_legal_hold(segment.object_key, on)
    for event in events:
        for key in (event.clip_key, event.snapshot_key, event.frame_key):
            if key is not None:
                await store.set_legal_hold(key, on)
    for verdict in verdicts:
        if verdict.hard_example_key is not None:
            await store.set_legal_hold(verdict.hard_example_key, on)
    return len(segments)
