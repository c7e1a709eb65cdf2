"""A node's side of the cluster: renew what it holds, take its share, hand back the excess.

Ownership rules, in the order they protect the recording:
- a camera runs here only while this node holds its lease; a lease taken by another node
  (this one failed to renew for a whole TTL) stops the camera here at once;
- a camera is handed back only after it stopped here (RTSP closed, segment finished), so two
  nodes never pull one camera on purpose;
- NATS unreachable: the node keeps what it runs for `nats_down_grace_s` (nobody can take a
  lease while the one NATS is down), then stops its cameras cleanly until NATS is back;
- after (re)connecting, a node renews first and takes free cameras only after a settle
  time, so nodes returning together see each other before sharing out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from hub.cluster.leases import LeaseBucket, LeaseLost
from hub.cluster.share import plan
from hub.config import ClusterConfig
from hub.tasks import cancel_and_wait

__all__ = ["CameraOwner", "OwnerStatus"]

log = logging.getLogger(__name__)

CameraAction = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class OwnerStatus:
    node: str
    connected: bool
    cameras: tuple[str, ...]  # leased and running here
    nats_down_since: float | None  # time.time() of the first failed round, None if fine


class CameraOwner:
    def __init__(
        self,
        cfg: ClusterConfig,
        node: str,
        cameras: Sequence[str],
        *,
        url: str,
        attach: CameraAction,
        detach: CameraAction,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cfg.nats_url is None:
            raise ValueError("cluster.nats_url is not set")
        self._cfg = cfg
        self.node = node
        self.url = url  # this node's console, told to the others with every heartbeat
        self._cameras = list(cameras)
        self._attach = attach
        self._detach = detach
        self._clock = clock
        self._bucket = LeaseBucket(cfg.nats_url, cfg.bucket, node=node, ttl_s=cfg.lease_ttl_s)
        self._leases: dict[str, int] = {}  # camera -> revision of our lease
        self._seen: dict[str, str] = {}  # camera -> node, as the last round read the bucket
        self._urls: dict[str, str] = {}  # live node -> its console's URL, as last read
        self._released: dict[str, float] = {}  # camera -> when this node handed it back
        self._connected_once = False
        self._settled_at = 0.0
        self._last_ok: float | None = None
        self._down_since_wall: float | None = None
        self._last_release = -float("inf")
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"cluster:{self.node}")

    async def stop(self) -> None:
        """Stop every camera here, then hand its lease back so another node takes it now
        instead of after the TTL."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        for camera in list(self._leases):
            await self._hand_back(camera)
        await self._bucket.close()

    def owners(self) -> dict[str, str]:
        """camera -> node running it, as of the last round (a few seconds old at most)."""
        seen = {c: n for c, n in self._seen.items() if n != self.node}
        return seen | dict.fromkeys(self._leases, self.node)

    def node_url(self, node: str) -> str | None:
        """The console URL of a live node (this one included), as of the last round."""
        return self.url if node == self.node else self._urls.get(node)

    def peer_urls(self) -> dict[str, str]:
        """node -> console URL of every other live node, as of the last round."""
        return {n: u for n, u in self._urls.items() if n != self.node}

    def status(self) -> OwnerStatus:
        return OwnerStatus(
            self.node, self._bucket.connected, tuple(sorted(self._leases)), self._down_since_wall
        )

    # -- the round ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._round()
                self._nats_ok()
            except Exception as exc:  # NATS unreachable, a timeout, a server error
                await self._nats_failed(exc)
            await asyncio.sleep(self._cfg.renew_every_s)

    async def _round(self) -> None:
        if not self._connected_once:
            await self._bucket.connect(on_reconnect=self._reconnected)
            self._connected_once = True
            self._settle()
        await self._bucket.heartbeat(self._cfg.capacity, self.url)
        await self._renew_all()
        now = self._clock()
        if now < self._settled_at:
            return
        table = await self._bucket.table()
        self._seen, self._urls = dict(table.owners), dict(table.urls)
        for camera, owner in table.owners.items():
            if owner == self.node and camera not in self._leases and camera in self._cameras:
                # Held under this node's name by its previous run (killed, restarted within
                # the TTL): node names are unique, so that run is gone and the lease is ours.
                await self._run_camera(camera, table.revisions[camera])
        may_release = now - self._last_release >= self._cfg.rebalance_every_s
        recent = {
            c for c, at in self._released.items() if now - at < 3 * self._cfg.rebalance_every_s
        }
        step = plan(
            self.node,
            self._cameras,
            table.owners,
            table.capacities,
            may_release=may_release,
            avoid=recent,
        )
        for camera in step.release:
            self._last_release = now
            self._released[camera] = now
            log.info("cluster %s: handing %s back (over its share)", self.node, camera)
            await self._hand_back(camera)
        for camera in step.acquire:
            revision = await self._bucket.acquire(camera)
            if revision is not None:  # None: another node was quicker
                await self._run_camera(camera, revision)

    async def _run_camera(self, camera: str, revision: int) -> None:
        self._leases[camera] = revision
        log.info("cluster %s: took %s", self.node, camera)
        try:
            await self._attach(camera)
        except Exception:
            log.exception("cluster %s: could not start %s; handing it back", self.node, camera)
            await self._hand_back(camera)

    async def _renew_all(self) -> None:
        for camera, revision in list(self._leases.items()):
            try:
                self._leases[camera] = await self._bucket.renew(camera, revision)
            except LeaseLost:
                log.error("cluster %s: lease on %s taken by another node", self.node, camera)
                del self._leases[camera]
                await self._detach(camera)

    async def _hand_back(self, camera: str) -> None:
        revision = self._leases.pop(camera)
        await self._detach(camera)
        try:
            await self._bucket.release(camera, revision)
        except Exception as exc:  # the lease lapses by itself after the TTL
            log.warning("cluster %s: could not release %s: %s", self.node, camera, exc)

    # -- NATS outages ------------------------------------------------------------------------

    def _settle(self) -> None:
        self._settled_at = self._clock() + max(2 * self._cfg.renew_every_s, 1.0)

    async def _reconnected(self) -> None:
        log.warning("cluster %s: NATS is back", self.node)
        self._settle()

    def _nats_ok(self) -> None:
        if self._down_since_wall is not None:
            log.warning("cluster %s: leases renewed again", self.node)
        self._last_ok, self._down_since_wall = self._clock(), None

    async def _nats_failed(self, exc: Exception) -> None:
        now = self._clock()
        if self._down_since_wall is None:
            self._down_since_wall = time.time()
            log.error(
                "cluster %s: NATS unreachable (%s); keeping %d cameras for %.0f s",
                self.node,
                exc or type(exc).__name__,
                len(self._leases),
                self._cfg.nats_down_grace_s,
            )
        since = self._last_ok if self._last_ok is not None else now
        if self._leases and now - since >= self._cfg.nats_down_grace_s:
            log.error(
                "cluster %s: NATS down past the grace period: stopping %d cameras",
                self.node,
                len(self._leases),
            )
            for camera in list(self._leases):
                del self._leases[camera]  # the lease lapses in NATS by its TTL
                await self._detach(camera)
