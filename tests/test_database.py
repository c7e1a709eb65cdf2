"""The metadata database on SQLite and PostgreSQL: migrations, registry, history, segments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from storage.db import repository as repo
from storage.db.database import Database, DatabaseError, _alembic_config
from storage.db.models import Base, Camera, School, Segment, SegmentStatus, Town

T0 = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)


async def _registry(db: Database) -> None:
    async with db.session() as s:
        await repo.sync_registry(
            s,
            [Town(id="t1", name="东城镇")],
            [School(id="s1", name="东城小学", town_id="t1", kind="primary", boarding=False)],
            [
                Camera(id="c1", school_id="s1", kitchen_id="k", name="热菜间", room="hot_kitchen"),
                Camera(id="c2", school_id="s1", kitchen_id="k", name="凉菜间", room="cold_dish"),
            ],
        )


def _segment(camera: str, start: datetime, key: str) -> Segment:
    return Segment(
        camera_id=camera,
        start_at=start,
        end_at=start + timedelta(seconds=60),
        bytes=100,
        sha256="0" * 64,
        object_key=key,
        status=SegmentStatus.SPOOLED,
        recovered=False,
        codec="h264",
        width=1280,
        height=720,
        created_at=start,
    )


async def test_migrations_match_the_models(db: Database) -> None:
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert diff == []


async def test_supervision_migration_goes_down_and_up(db: Database) -> None:
    tables = {"inspection_rounds", "inspection_items", "inspection_evidence", "accompany_meals"}

    async def names() -> set[str]:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))

    assert tables <= await names()
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(_alembic_config(sync), "0008"))
    assert not tables & await names()
    await db.migrate()
    assert tables <= await names()


async def test_migrating_twice_is_harmless(db: Database) -> None:
    await db.migrate()
    await _registry(db)


async def test_registry_sync_disables_removed_cameras(db: Database) -> None:
    await _registry(db)
    async with db.session() as s:
        await repo.sync_registry(
            s,
            [],
            [],
            [Camera(id="c1", school_id="s1", kitchen_id="k", name="热菜间 改", room="hot_kitchen")],
        )
    async with db.session() as s:
        cams = {c.id: c for c in await s.scalars(select(Camera))}
    assert cams["c1"].name == "热菜间 改" and cams["c1"].enabled
    assert not cams["c2"].enabled


async def test_state_history_keeps_outages_with_reasons(db: Database) -> None:
    await _registry(db)
    steps = [
        ("connecting", None, T0),
        ("online", None, T0 + timedelta(seconds=1)),
        ("offline", "connection_refused", T0 + timedelta(minutes=5)),
        ("online", None, T0 + timedelta(minutes=6)),
    ]
    for state, reason, at in steps:
        async with db.session() as s:
            await repo.record_state_change(s, "c1", state=state, reason=reason, detail=None, at=at)
    async with db.session() as s:
        history = await repo.state_history(s, "c1")
        status = (await repo.camera_statuses(s))["c1"]
    assert [(h.state, h.reason) for h in history] == [(st, r) for st, r, _ in steps]
    outage = history[2]
    assert outage.ended_at - outage.started_at == timedelta(minutes=1)
    assert history[-1].ended_at is None
    assert status.state == "online" and status.since == T0 + timedelta(minutes=6)
    assert status.since.tzinfo is not None


async def test_segments_index_idempotently_and_query_by_range(db: Database) -> None:
    await _registry(db)
    async with db.session() as s:
        for n in range(5):
            await repo.add_segment(s, _segment("c1", T0 + timedelta(minutes=n), f"k/{n}.mp4"))
        again = await repo.add_segment(s, _segment("c1", T0, "k/0.mp4"))
        assert again.id is not None
    async with db.session() as s:
        found = await repo.segments_between(
            s, "c1", T0 + timedelta(minutes=1, seconds=30), T0 + timedelta(minutes=3)
        )
        assert [seg.object_key for seg in found] == ["k/1.mp4", "k/2.mp4"]
        pending = await repo.pending_segments(s)
        assert len(pending) == 5
        await repo.mark_segment_stored(s, pending[0].id, at=T0)
    async with db.session() as s:
        assert len(await repo.pending_segments(s)) == 4


async def test_unreachable_database_is_a_clear_error() -> None:
    db = Database("postgresql+asyncpg://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(DatabaseError) as err:
        await db.start()
    assert "secret" not in str(err.value) and "127.0.0.1:1" in str(err.value)
