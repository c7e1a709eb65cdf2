"""Shared fixtures: real media, real databases (SQLite and PostgreSQL), and leak checks."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from camera_adapters.simulator import CameraSimulator
from storage.db.database import Database
from tests.media import make_h264_mp4
from tests.waiting import eventually
from tests.webapp import WebApp, district_config, serve_app

pytest_plugins = ["tests.s3server", "tests.natsserver"]  # the s3_server, nats_server fixtures


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Two groups for `pytest -n 2 --dist loadgroup` (make test): the tests that mostly wait
    (marked `waits`) run on one worker while every other test runs on the other, one after
    another as in a plain run, so no two CPU-heavy or timing-sensitive tests overlap."""
    for item in items:
        group = "waits" if item.get_closest_marker("waits") else "main"
        item.add_marker(pytest.mark.xdist_group(group))


PG_ADMIN_URL = os.environ.get(
    "BKHUB_TEST_PG_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
LINGER_GRACE_S = 15.0


@pytest.fixture
def simulator() -> Iterator[CameraSimulator]:
    """The RTSP camera simulator (GStreamer, its own process) with no cameras yet."""
    with CameraSimulator() as sim:
        yield sim


@pytest.fixture
async def web(tmp_path: Path, db_url: str) -> AsyncIterator[WebApp]:
    """The example district's web app with its hub, on each database (tests/webapp.py)."""
    async with serve_app(district_config(tmp_path, db_url)) as app:
        yield app


@pytest.fixture(scope="session")
def clip_10s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s of 320x240 25 fps H.264, a keyframe every second."""
    return make_h264_mp4(tmp_path_factory.mktemp("media") / "clip.mp4", seconds=10)


async def _admin(sql: str) -> None:
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@asynccontextmanager
async def fresh_pg_database() -> AsyncIterator[str]:
    """A new PostgreSQL database on the local server, dropped afterwards."""
    name = f"bkhub_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every database test runs on both supported databases."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        return
    async with fresh_pg_database() as url:
        yield url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.start()
    try:
        yield database
    finally:
        await database.stop()


@pytest.fixture
async def no_lingering_tasks() -> AsyncIterator[None]:
    """Request it first: fails a test that leaves asyncio tasks running behind it."""
    yield
    current = asyncio.current_task()

    def running() -> list[asyncio.Task[Any]]:
        return [t for t in asyncio.all_tasks() if t is not current and not t.done()]

    # A task that a close() cancelled may need a few more turns of a busy loop to finish;
    # one that was leaked never does.
    try:
        await eventually(lambda: not running(), within=LINGER_GRACE_S, what="tasks to end")
    except AssertionError:
        raise AssertionError(f"tasks left running after the test: {running()}") from None
