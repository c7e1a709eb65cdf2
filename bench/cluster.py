"""Cluster bench: cameras per node, failover time over repeated kill -9, machinery CPU.

    .venv/bin/python bench/cluster.py [--nodes 3] [--cameras 24] [--kills 10]
        [--lease-ttl 6] [--cpu-seconds 60]

Everything runs on loopback and is started (and stopped, also on Ctrl-C or SIGTERM) by the
bench: the RTSP camera simulator, a NATS JetStream server, a fresh PostgreSQL database on
127.0.0.1:5432 and `--nodes` real `bkhub serve --node` processes (tests/cluster_nodes.py,
its cluster timings: renew every 1 s, rebalance every 2 s, lease TTL 6 s unless changed).

In this order:
1. Spawns the nodes, waits until every camera is run by exactly one node with one RTSP
   session and the shares are even, prints cameras per node.
2. CPU, both sides measured over the same window of one run (cluster steady, before the
   kills), so their ratio survives a noisy box:
   - cluster machinery: `--nodes` hub.cluster.owner.CameraOwner in this process, on their
     own bucket of the same NATS, for the same cameras with no-op attach/detach, so only
     leasing, heartbeats, lease-table reads and share planning cost CPU: this process's CPU
     seconds (getrusage, all threads; its idle cost, measured first, is taken off);
   - whole nodes: the `bkhub serve` processes' CPU (/proc/<pid>/stat utime + stime, every
     thread) running the same cameras (ingest, recording, health, their own CameraOwner);
   - nats-server's CPU in that window, split evenly between the two sets of leases.
   Printed as ms of CPU per camera per minute, and machinery as a % of a node's per camera.
3. `--kills` times, rotating the victim: kill -9 one node, then polls every node's /healthz
   (`cluster.cameras`) and the simulator's client count until each of the victim's cameras
   is leased by another node ("leased elsewhere") and has its RTSP session back, both
   counted from the kill and stamped when a poll returns (late by up to one poll, whose
   mean duration is printed). Then respawns the victim and times until its /healthz
   answers and until every node runs floor or ceil of an even share with each camera once
   ("settled"). The simulator's client count is watched all along: more than one session
   on a camera means two nodes pulled it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import re
import resource
import signal
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and bench/storage.py would shadow the
# `storage` package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camera_adapters.simulator import CameraSimulator
from hub.cluster.owner import CameraOwner
from hub.config import ClusterConfig
from tests.cluster_nodes import CLUSTER_TIMINGS, Cluster, Node, make_cluster
from tests.conftest import fresh_pg_database
from tests.natsserver import NatsServer
from tests.waiting import eventually

_TTL = re.search(r"lease_ttl_s: ([0-9.]+)", CLUSTER_TIMINGS)
assert _TTL is not None, CLUSTER_TIMINGS
TTL_SETTING, DEFAULT_TTL_S = _TTL.group(0), float(_TTL.group(1))  # tests.cluster_nodes'
SETTLE_WITHIN_S = 240.0
FAILOVER_WITHIN_S = 180.0
POLL_S = 0.1  # between failover polls; a poll itself takes longer on a busy box


# -- small helpers -----------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between the closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def proc_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) another process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timings(ttl_s: float) -> str:
    return CLUSTER_TIMINGS.replace(TTL_SETTING, f"lease_ttl_s: {ttl_s:g}")


def even_share(counts: Counter[str], nodes: int, cameras: int) -> bool:
    """Every node runs floor or ceil of an even share (where the share rule stops moving)."""
    low, high = cameras // nodes, -(-cameras // nodes)
    return len(counts) == nodes and all(low <= n <= high for n in counts.values())


async def settled(cluster: Cluster) -> bool:
    counts = await cluster.counts()
    return even_share(counts, len(cluster.nodes), len(cluster.cameras)) and (
        await cluster.each_camera_once()
    )


@contextlib.asynccontextmanager
async def watching(cluster: Cluster) -> AsyncIterator[None]:
    """Cluster.watch_sessions while the block runs (max_sessions keeps what it saw)."""
    stop = asyncio.Event()
    task = asyncio.create_task(cluster.watch_sessions(stop))
    try:
        yield
    finally:
        stop.set()
        await task


# -- 2. failover -------------------------------------------------------------------------------


@dataclass
class Kill:
    victim: str
    moved: list[str]
    owner_s: dict[str, float] = field(default_factory=dict)  # camera -> leased elsewhere
    session_s: dict[str, float] = field(default_factory=dict)  # camera -> RTSP session back
    up_s: float = math.nan  # respawn -> /healthz answers
    settle_s: float = math.nan  # respawn -> even shares, each camera once
    polls: int = 0
    poll_s: float = 0.0  # time spent polling (mean = poll_s / polls)


async def failover(cluster: Cluster, victim: Node) -> Kill:
    kill = Kill(victim.name, sorted(await victim.cameras()))
    dropped: set[str] = set()  # cameras whose session was seen gone since the kill
    killed = time.monotonic()
    victim.kill()
    while len(kill.session_s) < len(kill.moved):
        t0 = time.monotonic()
        owners, sessions = await asyncio.gather(cluster.owners(), cluster.sessions())
        now = time.monotonic()
        kill.polls, kill.poll_s = kill.polls + 1, kill.poll_s + now - t0
        for camera in kill.moved:
            cluster.max_sessions[camera] = max(cluster.max_sessions[camera], sessions[camera])
            if sessions[camera] == 0:
                dropped.add(camera)
            if camera not in kill.owner_s and owners[camera]:
                kill.owner_s[camera] = now - killed
            # Back only once the dead node's session was seen gone: its TCP session may take
            # a moment to be noticed by the simulator, and that one is not a failover.
            if (
                camera not in kill.session_s
                and camera in kill.owner_s
                and camera in dropped
                and sessions[camera] >= 1
            ):
                kill.session_s[camera] = now - killed
        if now - killed > FAILOVER_WITHIN_S:
            missing = sorted(set(kill.moved) - set(kill.session_s))
            raise SystemExit(f"failover of {missing} not done within {FAILOVER_WITHIN_S:.0f} s")
        await asyncio.sleep(POLL_S)
    return kill


async def rejoin(cluster: Cluster, victim: Node, kill: Kill) -> None:
    spawned = time.monotonic()
    victim.spawn()

    async def up() -> bool:
        return bool(await victim.health())

    await eventually(up, within=SETTLE_WITHIN_S, what=f"node {victim.name} to answer")
    kill.up_s = time.monotonic() - spawned
    await eventually(
        lambda: settled(cluster), within=SETTLE_WITHIN_S, what="rebalance after the rejoin"
    )
    kill.settle_s = time.monotonic() - spawned


# -- 3. CPU ------------------------------------------------------------------------------------


async def _noop(_camera: str) -> None:
    return None


@dataclass
class Cpu:
    window_s: float
    idle_per_s: float  # this process without owners, CPU s per s
    owners_s: float  # this process with the owners, minus idle
    nodes_s: float
    nats_s: float


async def measure_cpu(
    cluster: Cluster, nats: NatsServer, nats_pid: int, ttl_s: float, seconds: float
) -> Cpu:
    names, cameras = [n.name for n in cluster.nodes], cluster.cameras
    # Idle first: the loop, the simulator's control pipe thread, whatever this process costs
    # without any owner.
    idle_s = min(15.0, seconds / 2)
    t0, c0 = time.monotonic(), self_cpu_seconds()
    await asyncio.sleep(idle_s)
    idle_per_s = (self_cpu_seconds() - c0) / (time.monotonic() - t0)

    cfg = ClusterConfig(
        nats_url=nats.url,
        bucket="bench-cpu-leases",  # not the nodes' bucket: these leases are separate
        lease_ttl_s=ttl_s,
        renew_every_s=1.0,
        rebalance_every_s=2.0,
    )
    owners = [
        # url: what a node's heartbeat tells the others its console is; nothing serves it here.
        CameraOwner(
            cfg, f"cpu-{name}", cameras, url="http://127.0.0.1:9", attach=_noop, detach=_noop
        )
        for name in names
    ]
    for owner in owners:
        owner.start()
    try:

        def shared() -> bool:
            counts = Counter({o.node: len(o.status().cameras) for o in owners})
            return even_share(counts, len(owners), len(cameras)) and sum(counts.values()) == len(
                cameras
            )

        await eventually(shared, within=SETTLE_WITHIN_S, what="in-process owners to share")
        await asyncio.sleep(5)  # past their start: nothing moves any more
        pids = [n.proc.pid for n in cluster.nodes if n.proc is not None]
        t0, self0 = time.monotonic(), self_cpu_seconds()
        nodes0 = sum(proc_cpu_seconds(p) for p in pids)
        nats0 = proc_cpu_seconds(nats_pid)
        await asyncio.sleep(seconds)
        window = time.monotonic() - t0
        owners_s = self_cpu_seconds() - self0 - idle_per_s * window
        nodes_s = sum(proc_cpu_seconds(p) for p in pids) - nodes0
        nats_s = proc_cpu_seconds(nats_pid) - nats0
        if not shared():
            print("warning: the in-process owners moved cameras during the CPU window")
    finally:
        for owner in owners:
            await owner.stop()
    return Cpu(window, idle_per_s, owners_s, nodes_s, nats_s)


# -- the run -----------------------------------------------------------------------------------


def per_node(counts: Counter[str], cluster: Cluster) -> str:
    return ", ".join(f"{n.name}: {counts.get(n.name, 0)}" for n in cluster.nodes)


async def bench(
    cluster: Cluster, nats: NatsServer, nats_pid: int, args: argparse.Namespace
) -> None:
    n_cams, n_nodes = len(cluster.cameras), len(cluster.nodes)
    print(f"{n_nodes} nodes, {n_cams} simulated cameras (main stream only), one machine")
    print(f"cluster timings: {timings(args.lease_ttl)}")
    async with watching(cluster):
        started = time.monotonic()
        for node in cluster.nodes:
            node.spawn()
        await eventually(
            cluster.each_camera_once, within=SETTLE_WITHIN_S, what="every camera on one node"
        )
        once_s = time.monotonic() - started
        await eventually(lambda: settled(cluster), within=SETTLE_WITHIN_S, what="even shares")
        even_s = time.monotonic() - started
    counts = await cluster.counts()
    print("\ncameras per node")
    print(f"   each camera once after {once_s:.1f} s, even shares after {even_s:.1f} s")
    print(f"   cameras per node: {per_node(counts, cluster)}")

    # The session watcher is off here: its polling would be counted as this process's CPU.
    print(f"\nCPU over {args.cpu_seconds:.0f} s (before the kills, cluster steady)")
    cpu = await measure_cpu(cluster, nats, nats_pid, args.lease_ttl, args.cpu_seconds)
    per_min = 60_000 / cpu.window_s / n_cams  # CPU s over the window -> ms per camera per min
    machinery_ms, node_ms, nats_ms = (
        cpu.owners_s * per_min,
        cpu.nodes_s * per_min,
        cpu.nats_s / 2 * per_min,
    )
    print(f"   window {cpu.window_s:.1f} s; this process idle: {cpu.idle_per_s * 1000:.1f} ms/s")
    print(
        f"   cluster machinery ({n_nodes} CameraOwners, no-op cameras): "
        f"{machinery_ms:.1f} ms CPU per camera per minute ({machinery_ms / 600:.3f} % of a core)"
    )
    print(
        f"   whole nodes ({n_nodes} bkhub serve): "
        f"{node_ms:.1f} ms CPU per camera per minute ({node_ms / 600:.2f} % of a core)"
    )
    print(
        f"   cluster machinery: {machinery_ms:.1f} ms CPU per camera per minute = "
        f"{100 * machinery_ms / node_ms:.1f} % of a node's per-camera CPU"
    )
    print(
        f"   nats-server: {nats_ms:.1f} ms CPU per camera per minute "
        "(its CPU split evenly between the nodes' and the in-process leases)"
    )

    kills: list[Kill] = []
    async with watching(cluster):
        await eventually(lambda: settled(cluster), within=SETTLE_WITHIN_S, what="steady")
        print(f"\nfailover, {args.kills} kills (kill -9, rotating), lease TTL {args.lease_ttl:g} s")
        for i in range(args.kills):
            victim = cluster.nodes[i % n_nodes]
            kill = await failover(cluster, victim)
            await rejoin(cluster, victim, kill)
            kills.append(kill)
            print(
                f"   kill {i + 1:2d} {kill.victim}: {len(kill.moved):2d} cameras, "
                f"leased max {max(kill.owner_s.values()):5.1f} s, "
                f"session max {max(kill.session_s.values()):5.1f} s; "
                f"rejoin: up {kill.up_s:4.1f} s, settled {kill.settle_s:5.1f} s "
                f"({per_node(await cluster.counts(), cluster)}); "
                f"poll {1000 * kill.poll_s / kill.polls:.0f} ms"
            )
            await asyncio.sleep(3)  # a few renewal rounds of the settled cluster between kills

    def line(what: str, values: Sequence[float]) -> str:
        return (
            f"   {what:34s} p50 {pct(values, 50):5.1f} s  p95 {pct(values, 95):5.1f} s  "
            f"max {max(values):5.1f} s  (n={len(values)})"
        )

    owner_cam = [t for k in kills for t in k.owner_s.values()]
    session_cam = [t for k in kills for t in k.session_s.values()]
    print("\n   failover, kill -> ...")
    print(line("leased elsewhere, per camera", owner_cam))
    print(line("RTSP session back, per camera", session_cam))
    print(line("leased elsewhere, per kill (last)", [max(k.owner_s.values()) for k in kills]))
    print(line("RTSP session back, per kill (last)", [max(k.session_s.values()) for k in kills]))
    print(line("rejoin: node answers /healthz", [k.up_s for k in kills]))
    print(line("rejoin: settled (spawn -> even)", [k.settle_s for k in kills]))
    most = max(cluster.max_sessions.values(), default=0)
    twice = sorted(c for c, n in cluster.max_sessions.items() if n > 1)
    print(f"   max RTSP sessions on one camera, whole run: {most}" + (f" {twice}" if twice else ""))


async def run(args: argparse.Namespace) -> None:
    # `timeout` and service managers send SIGTERM: clean up as on Ctrl-C.
    main = asyncio.current_task()
    assert main is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
    with tempfile.TemporaryDirectory(prefix="bkhub-bench-cluster-") as tmp:
        root = Path(tmp)
        with CameraSimulator() as sim:
            nats = NatsServer(root / "nats")
            nats.start()
            try:
                nats_pid = nats._proc.pid if nats._proc is not None else 0  # its pid, for its CPU
                async with fresh_pg_database() as db_url:
                    names = list(string.ascii_lowercase[: args.nodes])
                    cluster = make_cluster(
                        root / "nodes",
                        sim,
                        names=names,
                        cameras=args.cameras,
                        db_url=db_url,
                        nats_url=nats.url,
                    )
                    if args.lease_ttl != DEFAULT_TTL_S:
                        for node in cluster.nodes:
                            config = node.root / "config.yaml"
                            text = config.read_text(encoding="utf-8")
                            config.write_text(
                                text.replace(CLUSTER_TIMINGS, timings(args.lease_ttl)), "utf-8"
                            )
                    try:
                        await bench(cluster, nats, nats_pid, args)
                    finally:
                        stop_nodes(cluster)
            finally:
                nats.stop()


def stop_nodes(cluster: Cluster) -> None:
    """SIGTERM every node still running (a clean stop); one stuck is killed, the rest still
    stopped."""
    for node in cluster.nodes:
        try:
            node.stop()
        except Exception as exc:
            print(f"node {node.name} did not stop cleanly: {exc}", file=sys.stderr)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, force=True)  # an import may have set INFO
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--cameras", type=int, default=24)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--lease-ttl", type=float, default=DEFAULT_TTL_S, help="s, at least 3")
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if not 2 <= args.nodes <= 26 or args.cameras < args.nodes or args.kills < 1:
        parser.error("need 2-26 nodes, at least one camera per node and one kill")
    if args.lease_ttl < 3:  # renew_every_s (1 s) must be at most a third of the TTL
        parser.error("--lease-ttl must be at least 3 s")
    try:
        asyncio.run(run(args))
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, SIGTERM: cleaned up already
        print("interrupted; everything the bench started is stopped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
