"""The `bkhub` command as a user runs it: config checks, serving, and surviving kill -9."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select

from camera_adapters.simulator import CameraSimulator
from storage.db.database import Database
from storage.db.models import Segment, SegmentStatus
from tests.hubconfig import write_config
from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[1]
BKHUB = [sys.executable, "-m", "hub.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_shipped_config_is_valid() -> None:
    done = subprocess.run(
        [*BKHUB, "-c", str(REPO / "config.yaml"), "check-config"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert "12 cameras" in done.stdout


def test_malformed_config_names_the_problem_and_starts_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path, ["{id: cam-1, name: 热菜间, rtsp_url: 'http://x/y'}"])
    for command in ("check-config", "serve"):
        done = subprocess.run(
            [*BKHUB, "-c", str(config), command],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 2
        assert "schools[0].cameras[0].rtsp_url" in done.stderr
        assert "rtsp" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]  # nothing created


def _serve(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*BKHUB, "-c", str(config), "serve"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=config.parent,
    )


async def _health(port: int) -> dict[str, object]:
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return dict(response.json())
    except httpx.HTTPError:
        return {}


async def test_kill_9_mid_segment_loses_nothing(simulator: CameraSimulator, tmp_path: Path) -> None:
    url = simulator.add_camera("cam-1", clip="people")
    port = _free_port()
    config = write_config(
        tmp_path,
        [f"{{id: cam-1, name: 热菜间, rtsp_url: '{url}'}}"],
        segment_seconds=60,
        web_port=port,
    )
    log = tmp_path / "hub.log"

    async def online() -> bool:
        health = await _health(port)
        return bool(health) and health["cameras_online"] == health["cameras_total"] == 1

    hub = _serve(config, log)
    try:
        await eventually(online, within=60, what="the hub serving an online camera")
        parts = tmp_path / "spool" / "parts" / "cam-1"
        await eventually(
            lambda: any(p.stat().st_size > 300_000 for p in parts.glob("*.part.mp4")),
            within=30,
            what="several seconds of the first segment on disk",
        )
        interrupted = {p.name for p in parts.glob("*.part.mp4")}
    finally:
        hub.send_signal(signal.SIGKILL)
        hub.wait(10)

    hub = _serve(config, log)
    try:
        await eventually(online, within=60, what="the restarted hub online")
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"http://127.0.0.1:{port}/healthz")).json()
        assert health["spool_damaged_parts"] == 0
        assert not interrupted & {p.name for p in parts.glob("*.part.mp4")}
        await eventually(
            lambda: any(p.stat().st_size > 100_000 for p in parts.glob("*.part.mp4")),
            within=30,
            what="the restarted hub recording",
        )
        hub.send_signal(signal.SIGUSR1)  # an operator asks what every task waits on
        await eventually(
            lambda: "tasks on SIGUSR1" in log.read_text(errors="replace"),
            within=30,
            what="the task dump in the log",
        )
        assert "Stack for <Task" in log.read_text(errors="replace")
        assert (await _health(port)).get("cameras_online") == 1  # and it serves on
    finally:
        hub.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is a clean exit.
        assert hub.wait(30) in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text()

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    await db.start()
    try:
        async with db.session() as s:
            rows = list(await s.scalars(select(Segment).order_by(Segment.start_at)))
    finally:
        await db.stop()
    recovered = [r for r in rows if r.recovered]
    assert len(recovered) == 1
    assert recovered[0].status == SegmentStatus.STORED
    assert (recovered[0].end_at - recovered[0].start_at).total_seconds() >= 2
    assert (tmp_path / "objects" / recovered[0].object_key).stat().st_size == recovered[0].bytes
    # The clean SIGTERM stop finalized the second run's segment too.
    assert len(rows) >= 2
    assert not list((tmp_path / "spool" / "parts").rglob("*.part.mp4"))
