"""The exports API and `bkhub storage`: real segments, a real app, real MP4s."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hub.config import HubConfig
from storage.archive import SegmentArchive
from storage.db import repository as repo
from storage.db.database import Database
from storage.db.models import Camera, School, Town
from storage.objectstore import LocalObjectStore
from storage.spool import Spool
from tests.hubconfig import load_test_config
from tests.test_archive import _spooled_segment
from tests.waiting import eventually
from tests.webapp import add_user, serve_app, session_headers
from web.auth import Role

BASE_WALL = 1_764_000_000.0  # the wall clock _spooled_segment starts from


async def _record(config: HubConfig, clip: Path, segments: int) -> None:
    """Record `segments` back-to-back 10 s segments of cam-1 into the config's store."""
    db = Database(config.database.url)
    await db.start()
    try:
        async with db.session() as s:
            await repo.sync_registry(
                s,
                [Town(id="t1", name="东城镇")],
                [School(id="s1", name="东城小学", town_id="t1", kind="primary", boarding=False)],
                [
                    Camera(
                        id="cam-1",
                        school_id="s1",
                        kitchen_id="main",
                        name="热菜间",
                        room="hot_kitchen",
                        enabled=False,
                    )
                ],
            )
        spool = Spool(Path(config.recording.spool_dir), tz=UTC)  # type: ignore[arg-type]
        archive = SegmentArchive(
            db, spool, LocalObjectStore(Path(config.storage.object_store.root))
        )
        await archive.start()
        try:
            for n in range(segments):
                meta = _spooled_segment(spool, clip, n * 10, camera_id="cam-1", school_id="s1")
                archive.segment_finished(meta)
            await eventually(lambda: archive.uploaded >= segments, within=60, what="uploads")
        finally:
            await archive.stop()
    finally:
        await db.stop()


@pytest.fixture
def recorded(tmp_path: Path, clip_10s: Path) -> HubConfig:
    # The one configured camera is disabled: the app serves stored footage, pulls nothing.
    config = load_test_config(
        tmp_path, ["{id: cam-1, name: 热菜间, rtsp_url: 'rtsp://127.0.0.1:9/x', enabled: false}"]
    )
    asyncio.run(_record(config, clip_10s, 3))
    return config


T0 = datetime.fromtimestamp(BASE_WALL, UTC)


@asynccontextmanager
async def _logged_in(config: HubConfig, role: Role, scope: str) -> AsyncIterator[httpx.AsyncClient]:
    async with serve_app(config) as web:
        user = await add_user(web.auth, f"{role.value}@{scope}", role, scope)
        web.client.headers.update(await session_headers(web.auth, user))
        yield web.client


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _body(start: datetime, end: datetime, camera: str = "cam-1") -> dict[str, str]:
    return {"camera_id": camera, "start": start.isoformat(), "end": end.isoformat()}


async def test_export_api_serves_a_seekable_mp4(recorded: HubConfig) -> None:
    body = _body(T0 + timedelta(seconds=5.5), T0 + timedelta(seconds=25))
    async with _logged_in(recorded, Role.SCHOOL_PRINCIPAL, "school:s1") as client:
        response = await client.post("/api/exports", json=body)
        assert response.status_code == 201, response.text
        export = response.json()
        # The video starts at the keyframe at or before the requested start (1 s GOP).
        assert datetime.fromisoformat(export["media_start_at"]) == T0 + timedelta(seconds=5)
        assert 19 <= export["duration_s"] <= 21
        whole = await client.get(export["download_url"])
        assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
        assert len(whole.content) == export["bytes"]
        part = await client.get(export["download_url"], headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == whole.content[100:200]
        again = await client.post("/api/exports", json=body)
        assert again.json()["id"] == export["id"] and again.json()["cached"]
    async with _logged_in(recorded, Role.SCHOOL_PRINCIPAL, "school:other") as client:
        assert (await client.get(export["download_url"])).status_code == 404  # not theirs


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_body(datetime(2999, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, 1, tzinfo=UTC)), 422),
        (_body(T0 + timedelta(seconds=20), T0), 422),  # reversed
        (_body(T0, T0 + timedelta(hours=5)), 422),  # longer than the maximum
        (_body(T0, T0 + timedelta(seconds=20), camera="nope"), 404),  # unknown camera
        (
            {"camera_id": "cam-1", "start": "2025-01-01T00:00:00", "end": "2025-01-01T01:00:00"},
            422,
        ),  # no time zone
    ],
)
async def test_bad_export_requests_are_refused_and_write_nothing(
    recorded: HubConfig, body: dict[str, str], code: int
) -> None:
    root = Path(recorded.storage.object_store.root)
    before = _files(root)
    async with _logged_in(recorded, Role.DISTRICT_ADMIN, "district") as client:
        response = await client.post("/api/exports", json=body)
    assert response.status_code == code, response.text
    assert response.json()["error"]["message"]  # a JSON error that says what is wrong
    assert _files(root) == before


def _bkhub(config: HubConfig, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "hub.cli",
            "-c",
            str(Path(config.recording.spool_dir).parent / "config.yaml"),
            "storage",
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_storage_cli_verify_export_hold(recorded: HubConfig, tmp_path: Path) -> None:
    done = _bkhub(recorded, "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    start = (T0 + timedelta(seconds=1)).isoformat()
    end = (T0 + timedelta(seconds=29)).isoformat()
    out = tmp_path / "inspection.mp4"
    done = _bkhub(
        recorded,
        "export",
        "--camera",
        "cam-1",
        "--from",
        start,
        "--to",
        end,
        "--out",
        str(out),
        "--by",
        "inspector-li",
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0 and "export " in done.stdout
    done = _bkhub(
        recorded, "hold", "--camera", "cam-1", "--from", start, "--to", end, "--by", "inspector-li"
    )
    assert done.returncode == 0 and "3 segment(s) of cam-1 held" in done.stdout
    # Break the store: verify must notice and say so.
    victim = next(Path(recorded.storage.object_store.root).rglob("recordings/**/*.mp4"))
    victim.write_bytes(b"tampered")
    done = _bkhub(recorded, "verify")
    assert done.returncode == 1 and "corrupt" in done.stdout.lower()
