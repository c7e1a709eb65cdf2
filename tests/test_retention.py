"""Retention deletes exactly what expired, never what is held, store and DB in agreement."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import AuditEntry, Camera, Event, School, Segment, SegmentStatus
from storage.db.models_supervision import InspectionEvidence, InspectionRound
from storage.db.models_verdicts import Verdict
from storage.objectstore import LocalObjectStore
from storage.retention import RetentionPolicy, apply_retention, set_legal_hold
from storage.verify import verify_storage

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


async def _setup(db: Database, store: LocalObjectStore, tmp_path: Path) -> None:
    async with db.session() as s:
        await repo.sync_registry(
            s,
            [],
            [
                School(id="s1", name="一小", town_id=None, kind="primary", boarding=False),
                School(id="s2", name="二小", town_id=None, kind="primary", boarding=False),
            ],
            [
                Camera(id="c1", school_id="s1", kitchen_id="k", name="a", room="hot_kitchen"),
                Camera(id="c2", school_id="s2", kitchen_id="k", name="b", room="hot_kitchen"),
            ],
        )
    blob = tmp_path / "blob.mp4"
    blob.write_bytes(b"\x00" * 1000)
    await store.start()
    async with db.session() as s:
        for camera in ("c1", "c2"):
            for age_days in (5, 29, 31, 45, 100):
                end = NOW - timedelta(days=age_days)
                key = f"recordings/{'s1' if camera == 'c1' else 's2'}/{camera}/{age_days}.mp4"
                await store.put_file(key, blob, content_type="video/mp4")
                s.add(
                    Segment(
                        camera_id=camera,
                        start_at=end - timedelta(minutes=1),
                        end_at=end,
                        bytes=1000,
                        sha256=hashlib.sha256(blob.read_bytes()).hexdigest(),
                        object_key=key,
                        status=SegmentStatus.STORED,
                        recovered=False,
                        codec="h264",
                        width=1,
                        height=1,
                        created_at=end,
                    )
                )


async def _stored_keys(db: Database) -> set[str]:
    async with db.session() as s:
        return set(await s.scalars(select(Segment.object_key)))


async def test_retention_deletes_expired_keeps_held_and_overrides(
    db: Database, tmp_path: Path
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    await _setup(db, store, tmp_path)
    # An inspection holds c1's footage from 40-50 days ago.
    held = await set_legal_hold(
        db,
        store,
        "c1",
        NOW - timedelta(days=50),
        NOW - timedelta(days=40),
        on=True,
        actor="inspector-wang",
        now=NOW,
    )
    assert held == 1
    policy = RetentionPolicy(recordings_days=30, recordings_by_school={"s2": 60})

    report = await apply_retention(db, store, policy, now=NOW)

    keys = await _stored_keys(db)
    assert keys == {
        "recordings/s1/c1/5.mp4",
        "recordings/s1/c1/29.mp4",
        "recordings/s1/c1/45.mp4",
        "recordings/s2/c2/5.mp4",
        "recordings/s2/c2/29.mp4",
        "recordings/s2/c2/31.mp4",
        "recordings/s2/c2/45.mp4",
    }
    assert report.deleted == 3 and report.bytes_freed == 3000 and report.kept_on_hold == 1
    assert {k async for k in store.list_keys("recordings/")} == keys  # store agrees with DB
    verified = await verify_storage(db, store)
    assert verified.ok and not verified.orphaned and not verified.missing
    async with db.session() as s:
        audit = list(await s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [a.action for a in audit] == ["legal_hold", "retention_delete", "retention_delete"]
    assert audit[0].actor == "inspector-wang"

    # Released, the held segment goes on the next run; a second run otherwise finds nothing.
    await set_legal_hold(
        db,
        store,
        "c1",
        NOW - timedelta(days=50),
        NOW - timedelta(days=40),
        on=False,
        actor="inspector-wang",
        now=NOW,
    )
    again = await apply_retention(db, store, policy, now=NOW)
    assert again.deleted == 1
    assert "recordings/s1/c1/45.mp4" not in await _stored_keys(db)


def test_lifecycle_rules_trail_the_policy_per_school() -> None:
    policy = RetentionPolicy(
        recordings_days=30,
        clips_days=180,
        recordings_by_school={"s2": 60},
        clips_by_school={"s1": 365},
    )
    assert policy.lifecycle_rules(["s1", "s2"]) == {
        "recordings/s1/": 31,
        "clips/s1/": 366,
        "snapshots/s1/": 366,
        "frames/s1/": 366,
        "hard-examples/s1/": 366,
        "recordings/s2/": 61,
        "clips/s2/": 181,
        "snapshots/s2/": 181,
        "frames/s2/": 181,
        "hard-examples/s2/": 366,
    }


async def test_clip_retention_keeps_the_event_and_held_clips(db: Database, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    await _setup(db, store, tmp_path)
    blob = tmp_path / "blob.mp4"
    async with db.session() as s:
        for name, age_days in (("old", 200), ("held", 200), ("new", 10)):
            clip, snap = f"clips/s1/c1/{name}.mp4", f"snapshots/s1/c1/{name}.jpg"
            frame = f"frames/s1/c1/{name}.jpg"
            await store.put_file(clip, blob, content_type="video/mp4")
            await store.put_file(snap, blob, content_type="image/jpeg")
            await store.put_file(frame, blob, content_type="image/jpeg")
            at = NOW - timedelta(days=age_days)
            s.add(
                Event(
                    id=name.ljust(32, "0"),
                    kind="violation",
                    type="rat",
                    severity="urgent",
                    camera_id="c1",
                    school_id="s1",
                    started_at=at,
                    ended_at=at,
                    updated_at=at,
                    clip_key=clip,
                    snapshot_key=snap,
                    frame_key=frame,
                )
            )
    await set_legal_hold(
        db,
        store,
        "c1",
        NOW - timedelta(days=201),
        NOW - timedelta(days=199),
        on=True,
        actor="inspector-wang",
        now=NOW,
    )
    async with db.session() as s:  # the hold above caught both old events; release "old"
        old = await s.get(Event, "old".ljust(32, "0"))
        assert old is not None
        old.legal_hold = False

    report = await apply_retention(db, store, RetentionPolicy(), now=NOW)

    assert report.clips_deleted == 1
    async with db.session() as s:
        events = {e.id[:4].rstrip("0"): e for e in await s.scalars(select(Event))}
    assert events["old"].clip_key is None and events["old"].snapshot_key is None
    assert events["old"].frame_key is None
    assert {k async for k in store.list_keys("frames/")} == {
        "frames/s1/c1/held.jpg",
        "frames/s1/c1/new.jpg",
    }
    assert events["held"].clip_key is not None and events["new"].clip_key is not None
    keys = {k async for k in store.list_keys("clips/")}
    assert keys == {"clips/s1/c1/held.mp4", "clips/s1/c1/new.mp4"}


async def test_hard_examples_keep_365_days_and_their_hold(db: Database, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    await _setup(db, store, tmp_path)
    blob = tmp_path / "blob.mp4"
    async with db.session() as s:
        for name, age_days in (("old", 400), ("held", 400), ("new", 300)):
            key = f"hard-examples/s1/c1/{name}.jpg"
            await store.put_file(key, blob, content_type="image/jpeg")
            at = NOW - timedelta(days=age_days)
            s.add(
                Verdict(
                    id=name.ljust(32, "0"),
                    kind="missed",
                    type="rat",
                    at=at,
                    camera_id="c1",
                    school_id="s1",
                    given_by="principal",
                    created_at=at,
                    labels="[]",
                    hard_example_key=key,
                )
            )
    held_at = NOW - timedelta(days=400)
    await set_legal_hold(db, store, "c1", held_at, held_at + timedelta(seconds=1), on=True,
                         actor="inspector-wang", now=NOW)  # fmt: skip
    async with db.session() as s:  # the hold caught both; release "old"
        old = await s.get(Verdict, "old".ljust(32, "0"))
        assert old is not None
        old.legal_hold = False

    report = await apply_retention(db, store, RetentionPolicy(), now=NOW)

    assert report.hard_examples_deleted == 1
    async with db.session() as s:
        kept = {v.id[:4].rstrip("0"): v.hard_example_key for v in await s.scalars(select(Verdict))}
        audit = await s.scalar(
            select(AuditEntry).where(AuditEntry.action == "retention_delete_hard_examples")
        )
    assert kept == {  # the verdict rows stay: only the old, released frame went
        "old": None,
        "held": "hard-examples/s1/c1/held.jpg",
        "new": "hard-examples/s1/c1/new.jpg",
    }
    assert {k async for k in store.list_keys("hard-examples/")} == {
        "hard-examples/s1/c1/held.jpg",
        "hard-examples/s1/c1/new.jpg",
    }
    assert audit is not None and "365 days" in (audit.detail or "")


async def test_round_evidence_keeps_its_rows_and_loses_old_pictures(
    db: Database, tmp_path: Path
) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    await _setup(db, store, tmp_path)
    blob = tmp_path / "blob.mp4"
    policy = RetentionPolicy(clips_by_school={"s2": 365})
    async with db.session() as s:
        for school in ("s1", "s2"):
            s.add(InspectionRound(id=f"round-{school}", school_id=school, inspector="wang",
                                  inspector_role="town_staff", mode="remote",
                                  started_at=NOW - timedelta(days=300)))  # fmt: skip
        await s.flush()
        for school, camera in (("s1", "c1"), ("s2", "c2")):
            for name, age_days in (("old", 200), ("new", 10)):
                key = f"snapshots/{school}/{camera}/round-{name}.jpg"
                await store.put_file(key, blob, content_type="image/jpeg")
                s.add(InspectionEvidence(id=f"{school}-{name}", round_id=f"round-{school}",
                                         camera_id=camera, object_key=key,
                                         taken_at=NOW - timedelta(days=age_days)))  # fmt: skip

    report = await apply_retention(db, store, policy, now=NOW)

    assert report.evidence_deleted == 1  # s1's 200-day-old one; s2 keeps a year
    async with db.session() as s:
        keys = {e.id: e.object_key for e in await s.scalars(select(InspectionEvidence))}
        audit = await s.scalar(
            select(AuditEntry).where(AuditEntry.action == "retention_delete_evidence")
        )
    assert keys == {
        "s1-old": None,
        "s1-new": "snapshots/s1/c1/round-new.jpg",
        "s2-old": "snapshots/s2/c2/round-old.jpg",
        "s2-new": "snapshots/s2/c2/round-new.jpg",
    }
    assert {k async for k in store.list_keys("snapshots/")} == {v for v in keys.values() if v}
    assert audit is not None and "180 days" in (audit.detail or "")
