"""Hub CPU per camera for health (keyframe sampling + checks), next to ingest alone.

    .venv/bin/python bench/health.py 8 [--seconds 60] [--sample-every 4]

Starts N simulated 720p25 cameras, pulls them with the ingest supervisors in this process,
and measures this process's CPU over two windows of the same run: ingest alone, then ingest
plus the health service (a FrameSampler thread per camera decoding keyframes, the picture
checks in a worker thread each tick, the stream checks on the loop). Recording is off, so
the difference is health's own cost. Prints CPU % of one core per camera for each window.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from camera_adapters.simulator import CameraSimulator
from hub.config import load_config
from hub.ingest.supervisor import CameraState
from hub.runtime import Hub

CONFIG = """
district: {{id: bench, name: 基准测试区}}
towns: []
schools:
  - id: bench-school
    name: 基准学校
    kind: primary
    kitchens: [{{id: main, name: 主厨房}}]
    cameras:
{cameras}
recording: {{enabled: false, spool_dir: spool}}
storage: {{object_store: {{type: local, root: objects}}}}
database: {{url: "sqlite+aiosqlite:///hub.db"}}
health: {{enabled: {health}, sample_every_s: {sample}, digest_at: null}}
"""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(hub: Hub, seconds: float) -> float:
    """CPU % of one core per camera over `seconds` once every camera is online."""
    deadline = time.monotonic() + 30
    while not all(e.supervisor.status.state is CameraState.ONLINE for e in hub.cameras.values()):
        if time.monotonic() > deadline:
            raise SystemExit("cameras did not come online")
        await asyncio.sleep(0.2)
    await asyncio.sleep(12)  # past start-up: stats windows filled, baselines learning
    cpu0, t0 = _cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    return (_cpu() - cpu0) / (time.monotonic() - t0) * 100 / len(hub.cameras)


async def run(n: int, seconds: float, sample: float) -> None:
    results = {}
    with CameraSimulator() as sim:
        urls = {f"cam-{i:02d}": sim.add_camera(f"cam-{i:02d}") for i in range(n)}
        cams = "\n".join(
            f"      - {{id: {cid}, name: 热菜间, rtsp_url: '{url}'}}" for cid, url in urls.items()
        )
        for health in ("false", "true"):
            with tempfile.TemporaryDirectory(prefix="bkhub-bench-") as tmp:
                path = Path(tmp) / "config.yaml"
                path.write_text(CONFIG.format(cameras=cams, health=health, sample=sample))
                hub = Hub(load_config(path))
                await hub.start()
                try:
                    results[health] = await _measure(hub, seconds)
                    decoded = sum(
                        s.decoded for c in hub.cameras if (s := hub.health.sampler(c)) is not None
                    )
                finally:
                    await hub.stop()
    alone, both = results["false"], results["true"]
    print(f"{n} cameras 720p25, {seconds:.0f} s windows, one keyframe per {sample:g} s")
    print(f"ingest alone:          {alone:5.2f} % of a core per camera")
    print(f"ingest + health:       {both:5.2f} % of a core per camera")
    print(f"health (difference):   {both - alone:5.2f} % of a core per camera")
    print(f"keyframes decoded in the health window: {decoded}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cameras", type=int, nargs="?", default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sample-every", type=float, default=4.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args.cameras, args.seconds, args.sample_every))


if __name__ == "__main__":
    main()
