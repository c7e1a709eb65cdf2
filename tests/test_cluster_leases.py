"""Camera leases on a real NATS JetStream server: who owns what, hand-over, outages."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import nats
import pytest

from hub.cluster.leases import LeaseBucket, LeaseLost
from hub.cluster.owner import CameraOwner
from hub.config import ClusterConfig
from tests.natsserver import NatsServer
from tests.waiting import eventually

pytestmark = pytest.mark.waits  # NATS outages and lease TTLs: see tests/conftest.py

CAMERAS = [f"cam-{i:02d}" for i in range(12)]


def _cfg(server: NatsServer, **changes: float) -> ClusterConfig:
    fast = {"lease_ttl_s": 3.0, "renew_every_s": 0.5, "rebalance_every_s": 0.5}
    return ClusterConfig(nats_url=server.url, **(fast | changes))


async def _noop() -> None:
    return None


@asynccontextmanager
async def _bucket(server: NatsServer, node: str, ttl_s: float = 3.0) -> AsyncIterator[LeaseBucket]:
    bucket = LeaseBucket(server.url, "bkhub-leases", node=node, ttl_s=ttl_s)
    await bucket.connect(on_reconnect=_noop)
    try:
        yield bucket
    finally:
        await bucket.close()


async def _consumers(server: NatsServer) -> int:
    """JetStream consumers open on the lease bucket's stream."""
    nc = await nats.connect(server.url)
    try:
        info = await nc.jetstream().stream_info("KV_bkhub-leases")
        return info.state.consumer_count
    finally:
        await nc.close()


class Running:
    """Which node runs which camera, as the hub's attach/detach would change it; fails the
    test the moment two nodes run one camera."""

    def __init__(self) -> None:
        self.where: dict[str, str] = {}
        self.moves = 0

    def callbacks(self, node: str) -> tuple[Callable[[str], asyncio.Future[None]], ...]:
        async def attach(camera: str) -> None:
            assert camera not in self.where, f"{camera} runs on {self.where[camera]} and {node}"
            self.where[camera] = node
            self.moves += 1

        async def detach(camera: str) -> None:
            if self.where.get(camera) == node:
                del self.where[camera]

        return attach, detach  # type: ignore[return-value]

    def counts(self) -> Counter[str]:
        return Counter(self.where.values())


def _owner(cfg: ClusterConfig, node: str, running: Running) -> CameraOwner:
    attach, detach = running.callbacks(node)
    return CameraOwner(
        cfg,
        node,
        CAMERAS,
        url=f"http://{node}.test",
        attach=attach,
        detach=detach,  # type: ignore[arg-type]
    )


async def test_a_lease_has_one_holder_and_lapses_without_renewal(nats_server: NatsServer) -> None:
    async with _bucket(nats_server, "a") as a, _bucket(nats_server, "b") as b:
        rev = await a.acquire("cam-00")
        assert rev is not None
        assert await b.acquire("cam-00") is None
        rev = await a.renew("cam-00", rev)
        assert (await b.table()).owners == {"cam-00": "a"}
        await a.release("cam-00", rev)
        assert await b.acquire("cam-00") is not None

        # b stops renewing: its lease lapses with the bucket's TTL and a may take it.
        async def a_took_it() -> bool:
            return await a.acquire("cam-00") is not None

        await eventually(a_took_it, within=30, what="b's lease to lapse")
        assert (await b.table()).owners == {"cam-00": "a"}
        try:
            await b.renew("cam-00", 1)
        except LeaseLost:
            pass
        else:
            raise AssertionError("b renewed a lease a holds")


async def test_nodes_share_evenly_and_a_joining_node_takes_its_share(
    nats_server: NatsServer,
) -> None:
    running, cfg = Running(), _cfg(nats_server)
    a, b = _owner(cfg, "a", running), _owner(cfg, "b", running)
    a.start()
    b.start()
    try:
        await eventually(lambda: running.counts() == {"a": 6, "b": 6}, within=60, what="6 + 6")
        c = _owner(cfg, "c", running)
        c.start()
        try:
            await eventually(
                lambda: running.counts() == {"a": 4, "b": 4, "c": 4}, within=60, what="4 + 4 + 4"
            )
            moves = running.moves
            await asyncio.sleep(3)  # settled: nothing bounces between nodes
            assert running.moves == moves
            assert {cam for cam, _ in running.where.items()} == set(CAMERAS)
            # Each heartbeat tells the others where the node's console is (live views).
            assert [a.node_url(n) for n in ("a", "b", "c")] == [
                "http://a.test",
                "http://b.test",
                "http://c.test",
            ]
        finally:
            await c.stop()
        # c stopped and handed its cameras back: a and b run all twelve again at once.
        await eventually(lambda: len(running.where) == 12, within=30, what="c's cameras taken")
    finally:
        await a.stop()
        await b.stop()


async def test_nats_down_within_the_grace_keeps_cameras_and_recovers(
    nats_server: NatsServer,
) -> None:
    running, cfg = Running(), _cfg(nats_server, nats_down_grace_s=60.0)
    owners = [_owner(cfg, n, running) for n in ("a", "b")]
    for owner in owners:
        owner.start()
    try:
        await eventually(lambda: len(running.where) == 12, within=60, what="all cameras run")
        before = dict(running.where)
        nats_server.stop()
        await eventually(
            lambda: all(o.status().nats_down_since is not None for o in owners),
            within=30,
            what="both nodes to notice NATS is down",
        )
        await asyncio.sleep(8)  # far past the 3 s lease TTL
        assert running.where == before  # nobody stopped recording
        nats_server.start()
        await eventually(
            lambda: all(o.status().nats_down_since is None for o in owners),
            within=60,
            what="leases renewed after NATS returned",
        )
        await asyncio.sleep(3)
        assert running.where == before  # each node took its own cameras back, none moved
        assert await _consumers(nats_server) == 0  # rounds read the bucket, leave nothing open
    finally:
        for owner in owners:
            await owner.stop()


async def test_nats_down_past_the_grace_stops_cameras_cleanly(nats_server: NatsServer) -> None:
    running, cfg = Running(), _cfg(nats_server, nats_down_grace_s=2.0)
    owner = _owner(cfg, "a", running)
    owner.start()
    try:
        await eventually(lambda: len(running.where) == 12, within=60, what="all cameras run")
        nats_server.stop()
        await eventually(lambda: not running.where, within=30, what="cameras stopped")
        nats_server.start()
        await eventually(lambda: len(running.where) == 12, within=60, what="cameras back")
    finally:
        await owner.stop()
