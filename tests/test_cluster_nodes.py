"""Three hub nodes as processes on loopback: one owner per camera, kill -9, rejoin.

Real parts throughout: `bkhub serve --node` processes, the GStreamer RTSP simulator (its
client count is the proof that no camera is pulled twice), a NATS JetStream server of the
test's own, PostgreSQL and a shared object store directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from camera_adapters.simulator import CameraSimulator
from storage.db.database import Database
from storage.db.models import Segment, SegmentStatus
from tests.cluster_nodes import Cluster, Node, make_cluster
from tests.conftest import fresh_pg_database
from tests.natsserver import NatsServer
from tests.waiting import eventually
from web.live.client import WhepViewer

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.waits]

CAMERAS = 24  # the acceptance: 8 per node
NATS_DOWN_S = 60.0  # the issue's outage; below the nodes' default 90 s grace
FAILOVER_GAP_S = 30.0  # the bound on a camera's recording gap after its node died
HANDOVER_GAP_S = 10.0  # a camera handed back is taken on the next round and reconnected


@contextlib.asynccontextmanager
async def _running(cluster: Cluster) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    watcher = asyncio.create_task(cluster.watch_sessions(stop))
    try:
        yield stop
    finally:
        stop.set()
        await watcher
        stopped = [asyncio.to_thread(node.stop) for node in cluster.nodes]
        for outcome in await asyncio.gather(*stopped, return_exceptions=True):
            if isinstance(outcome, BaseException):  # every node was stopped: now say why not
                raise outcome


async def _segments(db_url: str) -> list[Segment]:
    db = Database(db_url)
    await db.start()
    try:
        async with db.session() as s:
            return list(
                await s.scalars(select(Segment).order_by(Segment.camera_id, Segment.start_at))
            )
    finally:
        await db.stop()


def _largest_gaps(segments: list[Segment]) -> dict[str, timedelta]:
    gaps: dict[str, timedelta] = {}
    for before, after in itertools.pairwise(segments):
        if before.camera_id == after.camera_id:
            gap = after.start_at - before.end_at
            gaps[after.camera_id] = max(gaps.get(after.camera_id, timedelta(0)), gap)
    return gaps


async def _live_sessions(cluster: Cluster, node: Node) -> list[dict[str, Any]]:
    async with cluster.console(node) as client:
        reply = await client.get("/api/live")
        reply.raise_for_status()
        summary = reply.json()
        assert summary["unreachable_nodes"] == [], summary
        return list(summary["sessions"])


async def _through_another_node(cluster: Cluster, *, via: Node, owner: Node) -> None:
    """What only a camera's node has, asked of another node's console: `via` gathers it from
    every node (camera health, live viewers) or forwards it to the owner: a live view (the
    WHEP exchange; the viewer runs, and is closed, on `owner`), the live frame a miss is boxed
    on and the miss itself, and an inspection round's snapshot (a district inspector: a role
    with rounds)."""

    async def every_camera_with_its_node() -> bool:
        async with cluster.console(via) as client:
            reply = await client.get("/api/health/cameras")
            reply.raise_for_status()
            views = reply.json()
        owners = await cluster.owners()
        return len(views) == len(cluster.cameras) and all(
            [v["node"]] == owners[v["id"]] and v["condition"] != "not_monitored" for v in views
        )

    # Camera health as each camera's node monitors it, on one page.
    await eventually(every_camera_with_its_node, within=60, what=f"camera health on {via.name}")
    camera = sorted(await owner.cameras())[0]
    async with cluster.console(via) as client:
        problems = await client.get("/api/health/hub")  # every node answers for itself
        assert problems.status_code == 200, problems.text
        assert [p for p in problems.json() if p["check"] == "node"] == [], problems.json()
        viewer = WhepViewer()
        try:
            reply = await viewer.connect(client, f"/api/cameras/{camera}/whep")
            assert reply.status_code == 201, reply.text
            assert viewer.location is not None
            assert viewer.location.startswith(f"/api/live/nodes/{owner.name}/sessions/")
            await eventually(lambda: viewer.frames >= 10, within=60, what="frames through a")
            for node in cluster.nodes:  # every console lists the one viewer, on its node
                sessions = await _live_sessions(cluster, node)
                assert [(s["camera_id"], s["node"]) for s in sessions] == [(camera, owner.name)]
        finally:
            await viewer.close(client)  # the DELETE goes through `via` too

        frame = await client.get(f"/api/cameras/{camera}/frame")
        assert frame.status_code == 200, frame.text
        assert frame.headers["content-type"] == "image/jpeg"
        assert frame.content.startswith(b"\xff\xd8")
        miss = {
            "frame_id": frame.headers["x-frame-id"],
            "type": "no_chef_hat",
            "labels": [{"cls": "head_bare", "x1": 0.1, "y1": 0.1, "x2": 0.3, "y2": 0.3}],
        }
        reply = await client.post(f"/api/cameras/{camera}/misses", json=miss)
        assert reply.status_code == 201, reply.text
        assert reply.json()["has_hard_example"] is True

        inspector = {
            "username": "inspector",
            "password": "督查-password-1",
            "display_name": "督查员",
            "role": "district_staff",
            "scope": "district",
        }
        (await client.post("/api/users", json=inspector)).raise_for_status()
    async with cluster.console(
        via, user=inspector["username"], password=inspector["password"]
    ) as client:
        round_ = await client.post(
            "/api/supervision/rounds", json={"school_id": "s1", "mode": "remote"}
        )
        assert round_.status_code == 201, round_.text
        shot = await client.post(
            f"/api/supervision/rounds/{round_.json()['id']}/snapshots", json={"camera_id": camera}
        )
        assert shot.status_code == 201, shot.text

    async def closed() -> bool:
        return not await _live_sessions(cluster, owner)

    await eventually(closed, within=30, what="the viewer closed on the owner")


async def _nats_down_for_a_minute(cluster: Cluster, nats: NatsServer) -> None:
    """NATS stops for 60 s (inside the 90 s grace): every node keeps recording what it runs,
    and the console keeps answering; when NATS is back, nothing has moved."""
    before = await cluster.owners()
    nats.stop()
    stopped = time.monotonic()

    async def all_noticed() -> bool:
        health = [await n.health() for n in cluster.nodes]
        return all(h["cluster"]["nats_down_since"] is not None for h in health)

    await eventually(all_noticed, within=30, what="every node to notice NATS is down")
    while time.monotonic() - stopped < NATS_DOWN_S:
        assert await cluster.owners() == before
        assert await cluster.each_camera_once()
        await asyncio.sleep(5)
    views = await cluster.console_cameras(cluster.node("a"))
    assert all(views[c]["state"] == "online" for c in cluster.cameras), views
    nats.start()

    async def all_renewed() -> bool:
        health = [await n.health() for n in cluster.nodes]
        return all(h["cluster"]["nats_down_since"] is None for h in health)

    await eventually(all_renewed, within=60, what="every node renewing again")
    await asyncio.sleep(5)  # a few rounds: nobody takes or hands back anything
    assert await cluster.owners() == before
    assert await cluster.each_camera_once()


async def test_three_nodes_share_cameras_survive_a_kill_and_rebalance(
    simulator: CameraSimulator, nats_server: NatsServer, tmp_path: Path
) -> None:
    async with fresh_pg_database() as db_url:
        cluster = make_cluster(
            tmp_path,
            simulator,
            names=["a", "b", "c"],
            cameras=CAMERAS,
            db_url=db_url,
            nats_url=nats_server.url,
        )
        async with _running(cluster):
            for node in cluster.nodes:
                node.spawn()
            await eventually(cluster.each_camera_once, within=120, what="every camera on one node")

            async def even() -> bool:
                counts = await cluster.counts()
                share = CAMERAS // 3
                return sorted(counts.values()) == [share] * 3 and await cluster.each_camera_once()

            await eventually(even, within=120, what="an even share per node")
            started = time.monotonic()
            await _through_another_node(cluster, via=cluster.node("a"), owner=cluster.node("b"))
            await asyncio.sleep(max(0.0, 25 - (time.monotonic() - started)))  # a few segments

            victim = cluster.node("b")
            moved = await victim.cameras()
            killed_at = time.monotonic()
            victim.kill()
            await eventually(
                lambda: cluster.each_camera_once(among={"a", "c"}),
                within=120,
                what="b's cameras running on a and c",
            )
            failover_s = time.monotonic() - killed_at
            print(f"failover of {len(moved)} cameras: {failover_s:.1f} s")

            async def console_shows_the_new_owners() -> bool:
                views, owners = (
                    await cluster.console_cameras(cluster.node("a")),
                    await cluster.owners(),
                )
                return all(
                    views[c]["state"] == "online" and [views[c]["node"]] == owners[c]
                    for c in cluster.cameras
                )

            # One console for the district: node a lists c's cameras too, with their node.
            await eventually(console_shows_the_new_owners, within=60, what="the console on a")
            await asyncio.sleep(15)  # the new owners record a segment of their own

            victim.spawn()

            async def rebalanced() -> bool:
                counts = await cluster.counts()
                return (
                    len(counts) == 3
                    and max(counts.values()) - min(counts.values()) <= 1
                    and await cluster.each_camera_once()
                )

            await eventually(rebalanced, within=180, what="b back with its share")
            await asyncio.sleep(12)
            await _nats_down_for_a_minute(cluster, nats_server)
        # All nodes stopped cleanly (SIGTERM): every open segment is in the archive.
        assert max(cluster.max_sessions.values()) == 1, cluster.max_sessions  # never pulled twice

        segments = await _segments(db_url)
        assert {s.camera_id for s in segments} == set(cluster.cameras)
        # A clean stop leaves uploads not yet started in the node's spool, for its next start.
        assert {s.status for s in segments} <= {SegmentStatus.STORED, SegmentStatus.SPOOLED}
        spooled = {Path(s.object_key).name for s in segments if s.status == SegmentStatus.SPOOLED}
        on_disk = {p.name for n in cluster.nodes for p in (n.root / "spool").rglob("*.mp4")}
        assert spooled <= on_disk
        assert len({s.object_key for s in segments}) == len(segments)  # nothing twice
        for before, after in itertools.pairwise(segments):
            if before.camera_id == after.camera_id:  # no two nodes recorded one camera at once
                assert after.start_at >= before.end_at - timedelta(seconds=1), (before, after)
        # b's interrupted segments came back from its spool when it restarted.
        # (A kill just after a segment began leaves only the file header, kept apart as
        # damaged: then there was nothing to recover.)
        recovered = {s.camera_id for s in segments if s.recovered}
        empty = {
            p.parent.name
            for p in (cluster.node("b").root / "spool" / "damaged").rglob("*.part.mp4")
            if p.stat().st_size < 1024
        }
        assert recovered <= moved
        assert moved <= recovered | empty, (moved, recovered, empty)
        gaps = _largest_gaps(segments)
        print(
            "largest recording gap per moved camera:", {c: gaps[c].total_seconds() for c in moved}
        )
        assert all(gaps[c] <= timedelta(seconds=FAILOVER_GAP_S) for c in moved), gaps
        # The others only changed hands in the rebalance (stopped, then taken on the next
        # round: one reconnect) or not at all, NATS outage included.
        others = {c: gaps.get(c, timedelta(0)).total_seconds() for c in cluster.cameras}
        others = {c: gap for c, gap in others.items() if c not in moved}
        print("largest recording gap per other camera:", others)
        assert max(others.values()) <= HANDOVER_GAP_S, others
