"""Hub CPU per added live viewer (WebRTC H.264 passthrough) and time to first frame.

    .venv/bin/python bench/live.py [--levels 0,1,10,50] [--seconds 10]

One simulated 720p25 camera (the simulator is its own process), the hub's ingest and live
viewers in this process (recording off: it is not what is measured), and aiortc viewers in a
separate process so that their CPU is not counted. Signalling goes over a pipe to that process
instead of HTTP: only steady-state streaming is measured, and a WHEP request costs a few ms.
For each level the viewers are connected, then this process's CPU time is sampled over the
window. Prints CPU % of one core in total and per added viewer, and the viewers' time to first
decoded frame (from the offer; bounded below by the wait for the camera's next keyframe).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aioice.ice

# Run as a script, this folder comes first on sys.path, and bench/storage.py would shadow the
# `storage` package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camera_adapters.simulator import CameraSimulator
from hub.config import load_config
from hub.ingest.supervisor import CameraState
from hub.runtime import Hub
from web.live import HubStreams, LiveLimits, LiveViewers, StreamKind
from web.live.viewer_pool import ViewerPool

CONFIG = """
district: {{id: bench, name: 基准测试区}}
schools:
  - id: bench-school
    name: 基准学校
    kind: primary
    kitchens: [{{id: main, name: 主厨房}}]
    cameras: [{{id: cam, name: 摄像头, rtsp_url: '{url}'}}]
recording: {{enabled: false, spool_dir: spool}}
storage: {{object_store: {{type: local, root: objects}}}}
database: {{url: "sqlite+aiosqlite:///hub.db"}}
"""


def _loopback_only() -> None:
    # aioice never offers 127.0.0.1 itself (ENVIRONMENT.md); the bench stays on loopback.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _add_viewers(live: LiveViewers, pool: ViewerPool, count: int) -> None:
    for _ in range(count):
        index = live.count()
        (offer,) = await pool.offers(1)
        viewer = await live.open("cam", StreamKind.MAIN, offer)
        await pool.answer(index, viewer.answer_sdp)


async def _all_receiving(pool: ViewerPool, count: int, within: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        stats = await pool.stats()
        ttff = [t for t in stats["ttff"] if t is not None]
        if len(ttff) >= count and all(p > 0 for p in stats["packets"]):
            return {**stats, "ttff": ttff}
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(ttff)} of {count} viewers got video")
        await asyncio.sleep(0.5)


async def run(levels: list[int], seconds: float) -> None:
    _loopback_only()
    with tempfile.TemporaryDirectory(prefix="bkhub-live-") as tmp, CameraSimulator() as sim:
        url = sim.add_camera("cam", clip="people", sub_stream=False)
        path = Path(tmp) / "config.yaml"
        path.write_text(CONFIG.format(url=url), encoding="utf-8")
        hub = Hub(load_config(path))
        await hub.start()
        limits = LiveLimits(per_camera=max(levels), total=max(levels), idle_timeout_s=60)
        live = LiveViewers(HubStreams(hub.cameras, hub.substreams), limits)
        live.start()
        pool = ViewerPool()
        await pool.start()
        try:
            for _ in range(300):  # the camera comes online within 30 s
                if hub.cameras["cam"].supervisor.status.state is CameraState.ONLINE:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # past the connection's start-up
            print(f"hub CPU, one 720p25 camera, {seconds:.0f} s per level (% of one core)")
            print(
                f"{'viewers':>8} {'hub CPU':>9} {'per viewer':>11} {'clients CPU':>12} "
                f"{'TTFF median':>12} {'TTFF max':>9} {'kbit/s each':>12} {'RTSP':>5}"
            )
            base: float | None = None
            for level in sorted(levels):
                await _add_viewers(live, pool, level - live.count())
                stats = await _all_receiving(pool, level) if level else None
                await asyncio.sleep(1)
                before = await pool.stats()
                hub_cpu, wall = _cpu(), time.monotonic()
                await asyncio.sleep(seconds)
                hub_pct = 100 * (_cpu() - hub_cpu) / (time.monotonic() - wall)
                after = await pool.stats()
                client_pct = 100 * (after["cpu"] - before["cpu"]) / seconds
                base = hub_pct if base is None else base
                per = (hub_pct - base) / level if level else 0.0
                ttff = stats["ttff"] if stats else []
                median = f"{statistics.median(ttff):.2f} s" if ttff else "-"
                worst = f"{max(ttff):.2f} s" if ttff else "-"
                rtsp = sim.stats()["/cam/main"]
                # What each viewer received, to show the hub really sent the whole stream.
                got = [a - b for a, b in zip(after["bytes"], before["bytes"], strict=False)]
                kbps = f"{8 * min(got) / seconds / 1000:.0f}" if level else "-"
                print(
                    f"{level:>8} {hub_pct:>8.1f}% {per:>10.2f}% {client_pct:>11.1f}% "
                    f"{median:>12} {worst:>9} {kbps:>12} {rtsp:>5}"
                )
        finally:
            await pool.close()
            await live.stop()
            await hub.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="0,1,10,50", help="viewer counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per level")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    levels = [int(n) for n in args.levels.split(",")]
    asyncio.run(run(levels if 0 in levels else [0, *levels], args.seconds))


if __name__ == "__main__":
    main()
