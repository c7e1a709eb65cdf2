"""Recording into S3 through a long outage and a kill -9 mid-upload (moto on loopback)."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import socket
import subprocess
import sys
import uuid
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from minio import Minio
from minio.versioningconfig import ENABLED, VersioningConfig
from sqlalchemy import select

from camera_adapters.simulator import CameraSimulator
from hub.ingest.supervisor import CameraState
from hub.runtime import Hub
from storage.db.database import Database
from storage.db.models import Segment, SegmentStatus
from tests.hubconfig import load_test_config, write_config
from tests.s3server import S3Server
from tests.waiting import eventually

pytestmark = pytest.mark.waits  # the S3 outage: see tests/conftest.py

GOP_S = 2.0


def _client(s3: S3Server) -> Minio:
    creds = s3.credentials
    return Minio(s3.endpoint, creds.access_key, creds.secret_key, secure=False)


def _versioned_bucket(s3: S3Server) -> str:
    """A fresh bucket that keeps every version, so a second upload would show."""
    bucket = f"bkhub-{uuid.uuid4().hex[:12]}"
    client = _client(s3)
    client.make_bucket(bucket)
    client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    return bucket


def _store_yaml(s3: S3Server, bucket: str) -> str:
    creds = s3.credentials
    return (
        f"{{type: s3, endpoint: '{s3.endpoint}', bucket: {bucket}, "
        f"access_key: {creds.access_key}, secret_key: {creds.secret_key}, secure: false}}"
    )


async def _rows(db: Database) -> list[Segment]:
    async with db.session() as s:
        return list(await s.scalars(select(Segment).order_by(Segment.camera_id, Segment.start_at)))


def _check_bucket_matches(s3: S3Server, bucket: str, rows: list[Segment]) -> None:
    client = _client(s3)
    versions: dict[str, int] = {}
    for obj in client.list_objects(
        bucket, prefix="recordings/", recursive=True, include_version=True
    ):
        versions[obj.object_name] = versions.get(obj.object_name, 0) + 1
    stored = {r.object_key: r for r in rows if r.status == SegmentStatus.STORED}
    # Nothing missing, nothing extra, except an upload the stop's grace ran out on: its
    # object is in and its row still spooled, which the next start confirms by size.
    interrupted = {r.object_key for r in rows if r.status == SegmentStatus.SPOOLED}
    assert set(stored) <= set(versions) <= set(stored) | interrupted
    assert set(versions.values()) == {1}  # none uploaded twice
    for key, row in stored.items():
        data = client.get_object(bucket, key).read()
        assert hashlib.sha256(data).hexdigest() == row.sha256


async def test_s3_outage_of_two_minutes_loses_nothing(
    no_lingering_tasks: None, simulator: CameraSimulator, s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = _versioned_bucket(s3_server)
    urls = [simulator.add_camera(f"cam-{i}", sub_stream=False) for i in range(6)]
    config = load_test_config(
        tmp_path,
        [f"{{id: cam-{i}, name: 摄像头{i}, rtsp_url: '{u}'}}" for i, u in enumerate(urls)],
        segment_seconds=10,
        store=_store_yaml(s3_server, bucket),
    )
    hub = Hub(config)
    await hub.start()
    try:
        await eventually(
            lambda: all(
                e.supervisor.status.state is CameraState.ONLINE for e in hub.cameras.values()
            ),
            within=60,
            what="six cameras online",
        )
        await eventually(lambda: hub.archive.uploaded >= 6, within=30, what="first uploads")
        s3_server.stop()
        try:
            await eventually(
                lambda: hub.archive.failing_since is not None, within=30, what="the outage noticed"
            )
            await asyncio.sleep(120)
            during = sum(1 for r in await _rows(hub.db) if r.status == SegmentStatus.SPOOLED)
        finally:
            s3_server.start()
        assert during >= 6 * 10  # two minutes of 10 s segments for six cameras waited

        async def all_stored() -> bool:
            rows = await _rows(hub.db)
            return not any(r.status == SegmentStatus.SPOOLED for r in rows)

        await eventually(all_stored, within=90, what="the backlog uploaded")
    finally:
        await hub.stop()
    await hub.db.start()
    try:
        rows = await _rows(hub.db)
    finally:
        await hub.db.stop()
    _check_bucket_matches(s3_server, bucket, rows)
    for cam in range(6):
        mine = [r for r in rows if r.camera_id == f"cam-{cam}"]
        for a, b in pairwise(mine):  # continuous through the outage
            assert timedelta(0) <= b.start_at - a.end_at <= timedelta(seconds=GOP_S)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_kill_9_during_an_upload_completes_it_exactly_once(
    simulator: CameraSimulator, s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = _versioned_bucket(s3_server)
    url = simulator.add_camera("cam-1", sub_stream=False)
    config = write_config(
        tmp_path,
        [f"{{id: cam-1, name: 热菜间, rtsp_url: '{url}'}}"],
        segment_seconds=5,
        web_port=_free_port(),
        store=_store_yaml(s3_server, bucket),
    )
    log = tmp_path / "hub.log"

    def serve() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "-c", str(config), "serve"],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )

    ready = tmp_path / "spool" / "ready"
    hub = serve()
    try:
        await eventually(lambda: "cam-1 online" in log.read_text(), within=60, what="online")
        s3_server.pause()  # uploads now hang mid-request
        try:
            await eventually(
                lambda: any(ready.rglob("*.mp4")), within=30, what="a segment waiting to upload"
            )
            await asyncio.sleep(2)  # the upload is under way, stuck in the frozen server
        finally:
            hub.send_signal(signal.SIGKILL)
            hub.wait(10)
            s3_server.resume()
    finally:
        if hub.poll() is None:
            hub.kill()
    waiting = {p.relative_to(ready).as_posix() for p in ready.rglob("*.mp4")}
    assert waiting

    hub = serve()
    try:
        await eventually(
            lambda: (
                not any(ready.rglob("*.mp4"))
                or not (waiting & {p.relative_to(ready).as_posix() for p in ready.rglob("*.mp4")})
            ),
            within=60,
            what="the interrupted upload finished",
        )
    finally:
        hub.send_signal(signal.SIGTERM)
        hub.wait(30)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    await db.start()
    try:
        rows = await _rows(db)
    finally:
        await db.stop()
    assert waiting <= {r.object_key for r in rows if r.status == SegmentStatus.STORED}
    _check_bucket_matches(s3_server, bucket, rows)
