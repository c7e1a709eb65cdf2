"""Camera leases and node heartbeats in one NATS JetStream key-value bucket.

Why JetStream KV and not PostgreSQL advisory locks: an advisory lock lives as long as one
database connection, so a node whose connection pool recycles or whose database fails over
loses every camera at once, and a lock cannot say who holds it. A KV entry names its holder,
every write is compare-and-set on the entry's revision, and the bucket's TTL ends the leases
of a node that stopped renewing without anyone having to notice its death.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

__all__ = ["LeaseBucket", "LeaseLost", "LeaseTable"]

_CAMERA = "cameras."
_NODE = "nodes."
_STREAM = "KV_"  # the stream JetStream keeps a bucket in
_TIMEOUT_S = 2.0  # one request; a slower NATS counts as down for this round
_CLOSE_TIMEOUT_S = 10.0  # a client that cannot flush and close must not hold up a hub's stop

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another node holds the lease now: this node must stop the camera at once."""


@dataclass(slots=True)
class LeaseTable:
    """The bucket as one read saw it."""

    owners: dict[str, str] = field(default_factory=dict)  # camera -> node
    revisions: dict[str, int] = field(default_factory=dict)  # camera -> lease revision
    capacities: dict[str, int] = field(default_factory=dict)  # live node -> capacity
    urls: dict[str, str] = field(default_factory=dict)  # live node -> its console's URL


class LeaseBucket:
    def __init__(self, url: str, bucket: str, *, node: str, ttl_s: float) -> None:
        self._url = url
        self._bucket = bucket
        self.node = node
        self._ttl_s = ttl_s
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None

    async def connect(self, *, on_reconnect: Callable[[], Awaitable[None]]) -> None:
        """Connect (raises if NATS cannot be reached now) and open or create the bucket.
        Once connected the client reconnects by itself, forever."""

        async def reconnected() -> None:
            await on_reconnect()

        async def quiet(_exc: Exception) -> None:  # outages are reported by the owner
            return None

        nc = await nats.connect(
            self._url,
            name=f"bkhub-{self.node}",
            connect_timeout=_TIMEOUT_S,
            reconnect_time_wait=1.0,
            max_reconnect_attempts=-1,
            reconnected_cb=reconnected,
            error_cb=quiet,
        )
        try:
            js = nc.jetstream(timeout=_TIMEOUT_S)
            try:
                self._kv = await js.key_value(self._bucket)
            except BucketNotFoundError:
                self._kv = await js.create_key_value(
                    bucket=self._bucket, ttl=self._ttl_s, history=1, description="bkhub leases"
                )
        except BaseException:
            await nc.close()
            raise
        self._nc, self._js = nc, js

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def close(self) -> None:
        nc, self._nc, self._js, self._kv = self._nc, None, None, None
        if nc is None:
            return
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT_S):
                await nc.close()
        except TimeoutError:  # the leases lapse by their TTL; the process exit closes the socket
            log.warning("NATS client of %s did not close in %.0f s", self.node, _CLOSE_TIMEOUT_S)

    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise ConnectionError("not connected to NATS")
        return self._js

    def _store(self) -> KeyValue:
        if self._kv is None:
            raise ConnectionError("not connected to NATS")
        return self._kv

    async def heartbeat(self, capacity: int, url: str) -> None:
        """This node is alive, takes up to `capacity` cameras and serves its live views at
        `url` (until the TTL lapses)."""
        body = json.dumps({"capacity": capacity, "url": url}).encode()
        await self._store().put(_NODE + self.node, body)

    async def acquire(self, camera: str) -> int | None:
        """Lease a free camera: its revision, or None if another node was quicker."""
        try:
            return await self._store().create(_CAMERA + camera, self.node.encode())
        except KeyWrongLastSequenceError:
            return None

    async def renew(self, camera: str, revision: int) -> int:
        """Extend a held lease; its new revision. LeaseLost if another node holds it."""
        store = self._store()
        try:
            return await store.update(_CAMERA + camera, self.node.encode(), last=revision)
        except KeyWrongLastSequenceError:
            pass
        # The lease lapsed (e.g. NATS was down longer than the TTL): take it again if free.
        fresh = await self.acquire(camera)
        if fresh is None:
            raise LeaseLost(camera)
        return fresh

    async def release(self, camera: str, revision: int) -> None:
        """Hand a held lease back (a no-op if it is no longer ours)."""
        with contextlib.suppress(KeyWrongLastSequenceError):
            await self._store().delete(_CAMERA + camera, last=revision)

    async def table(self) -> LeaseTable:
        """Every live lease and node: the bucket's subjects, then each one's last value.

        Why not `watchall`: a watcher is a JetStream consumer, and one opened per round is
        left behind on the server whenever NATS drops mid-round; after an outage those
        leftovers hit the consumer limit and every later round failed."""
        js, store = self._jetstream(), self._store()
        info = await js.stream_info(_STREAM + self._bucket, subjects_filter=self._prefix() + ">")
        table = LeaseTable()
        for subject in info.state.subjects or {}:
            key = subject.removeprefix(self._prefix())
            try:
                entry = await store.get(key)
            except KeyNotFoundError:  # deleted, or lapsed between the two reads
                continue
            if entry.value is None or entry.revision is None:
                continue
            if key.startswith(_CAMERA):
                camera = key.removeprefix(_CAMERA)
                table.owners[camera] = entry.value.decode()
                table.revisions[camera] = entry.revision
            elif key.startswith(_NODE):
                node = key.removeprefix(_NODE)
                beat = json.loads(entry.value)
                table.capacities[node] = int(beat["capacity"])
                table.urls[node] = str(beat["url"])
        return table

    def _prefix(self) -> str:
        return f"$KV.{self._bucket}."
