"""Hub nodes of one cluster as real `bkhub serve --node` processes, for tests and the bench.

Every node has its own directory (its config and local spool) and web port; they share the
PostgreSQL database, the object store directory and the NATS server.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from camera_adapters.simulator import CameraSimulator
from tests.alert_receivers import free_port
from tests.hubconfig import write_config

BKHUB = [sys.executable, "-m", "hub.cli"]
# Short leases make failover quick enough to test: a lease lapses 6 s after its last renewal.
CLUSTER_TIMINGS = "lease_ttl_s: 6, renew_every_s: 1, rebalance_every_s: 2"


@dataclass
class Node:
    name: str
    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.root / "node.log"

    def spawn(self) -> None:
        self.proc = subprocess.Popen(
            [*BKHUB, "-c", str(self.root / "config.yaml"), "serve", "--node", self.name],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )

    def kill(self) -> None:
        """kill -9: no clean stop, the leases lapse by their TTL."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)
            self.proc = None

    def stop(self) -> int | None:
        """SIGTERM and wait for the clean stop; its exit code."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(120)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)  # its tasks' stacks, to its log
            time.sleep(3)
            proc.kill()
            proc.wait()
            tail = self.log.read_text(errors="replace").splitlines()[-150:]
            message = f"node {self.name} did not stop in 120 s:\n" + "\n".join(tail)
            raise AssertionError(message) from None

    async def health(self) -> dict[str, Any]:
        """/healthz, or {} while the node is down or starting."""
        try:
            async with httpx.AsyncClient() as client:
                reply = await client.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5)
                return dict(reply.json()) if reply.status_code == 200 else {}
        except httpx.HTTPError:
            return {}

    async def cameras(self) -> set[str]:
        cluster = (await self.health()).get("cluster") or {}
        return set(cluster.get("cameras", ()))


@dataclass
class Cluster:
    nodes: list[Node]
    cameras: list[str]
    simulator: CameraSimulator
    max_sessions: Counter[str] = field(default_factory=Counter)

    def admin_password(self) -> str:
        """The first administrator's password, printed once by whichever node created it."""
        for node in self.nodes:
            found = re.search(r"password\s+密码:\s+(\S+)", node.log.read_text(errors="replace"))
            if found:
                return found.group(1)
        raise AssertionError("no node printed the administrator's password")

    @contextlib.asynccontextmanager
    async def console(
        self, via: Node, *, user: str = "admin", password: str | None = None
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client of the console on `via`, logged in as `user` (the administrator)."""
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{via.port}", timeout=30) as client:
            password = self.admin_password() if password is None else password
            login = {"username": user, "password": password}
            reply = await client.post("/api/auth/login", json=login)
            reply.raise_for_status()
            client.headers["X-CSRF-Token"] = reply.json()["csrf_token"]
            yield client

    async def console_cameras(self, via: Node) -> dict[str, dict[str, Any]]:
        """The console's camera list as the administrator sees it through `via`."""
        async with self.console(via) as client:
            reply = await client.get("/api/cameras")
            reply.raise_for_status()
            return {view["id"]: view for view in reply.json()}

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    async def owners(self) -> dict[str, list[str]]:
        """camera -> the running nodes that say they run it."""
        found: dict[str, list[str]] = {c: [] for c in self.cameras}
        for node in self.nodes:
            if node.proc is not None:
                for camera in await node.cameras():
                    found.setdefault(camera, []).append(node.name)
        return found

    async def sessions(self) -> dict[str, int]:
        """RTSP sessions per camera, as the simulator counts its clients."""
        stats = await asyncio.to_thread(self.simulator.stats)
        return {c: stats.get(f"/{c}/main", 0) for c in self.cameras}

    async def each_camera_once(self, among: set[str] | None = None) -> bool:
        """Every camera run by exactly one node (of `among`) with exactly one RTSP session."""
        owners, sessions = await self.owners(), await self.sessions()
        return all(
            len(owners[c]) == 1 and (among is None or owners[c][0] in among) and sessions[c] == 1
            for c in self.cameras
        )

    async def counts(self) -> Counter[str]:
        return Counter(n for names in (await self.owners()).values() for n in names)

    async def watch_sessions(self, stop: asyncio.Event) -> None:
        """Keep the most RTSP sessions ever seen per camera (two: two nodes pulled it)."""
        while not stop.is_set():
            for camera, count in (await self.sessions()).items():
                self.max_sessions[camera] = max(self.max_sessions[camera], count)
            await asyncio.sleep(0.25)


def make_cluster(
    root: Path,
    simulator: CameraSimulator,
    *,
    names: list[str],
    cameras: int,
    db_url: str,
    nats_url: str,
    segment_seconds: int = 10,
) -> Cluster:
    """Write each node's config; nothing is started."""
    ids = [f"cam-{i:02d}" for i in range(cameras)]
    lines = [
        f"{{id: {c}, name: 后厨{c}, rtsp_url: '{simulator.add_camera(c, sub_stream=False)}'}}"
        for c in ids
    ]
    objects = root / "objects"
    nodes = []
    for name in names:
        node_root = root / name
        node_root.mkdir(parents=True)
        port = free_port()
        write_config(
            node_root,
            lines,
            db_url=db_url,
            segment_seconds=segment_seconds,
            web_port=port,
            store=f"{{type: local, root: '{objects}'}}",
            extra=f"cluster: {{nats_url: '{nats_url}', {CLUSTER_TIMINGS}}}",
        )
        nodes.append(Node(name, node_root, port))
    return Cluster(nodes, ids, simulator)


def elapsed_since(start: float) -> float:
    return time.monotonic() - start
