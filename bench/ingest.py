"""Hub CPU per camera for ingest (RTSP demux) + continuous recording.

    .venv/bin/python bench/ingest.py 24 [--seconds 60] [--segment-seconds 60]

Starts N simulated 720p25 cameras (the simulator is its own process), runs the hub in this
process on a throw-away SQLite database and local object store, waits until every camera is
online, then measures this process's CPU time over the window. Prints CPU % of one core per
camera, the simulator's own CPU for comparison, and what was recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and bench/storage.py would shadow the
# `storage` package: the repository root goes first.
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
recording: {{segment_seconds: {segment}, spool_dir: spool}}
storage: {{object_store: {{type: local, root: objects}}}}
database: {{url: "sqlite+aiosqlite:///hub.db"}}
"""


def proc_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, all threads) another process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def self_cpu_seconds() -> float:
    """CPU seconds (user + system, all threads) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_config(path: Path, urls: dict[str, str], *, segment: int, extra: str = "") -> None:
    """A throw-away hub config: one school, these cameras (id -> RTSP URL), SQLite and a
    local store in `path`'s folder; `extra` is appended (more YAML sections)."""
    cams = [
        f"      - {{id: {cam_id}, name: 摄像头{i}, rtsp_url: '{url}'}}"
        for i, (cam_id, url) in enumerate(urls.items())
    ]
    path.write_text(CONFIG.format(cameras="\n".join(cams), segment=segment) + extra)


async def wait_online(hub: Hub, timeout_s: float = 60.0) -> float:
    """Seconds until every camera of a started hub is online; SystemExit after `timeout_s`."""
    t0 = time.monotonic()
    while not all(e.supervisor.status.state is CameraState.ONLINE for e in hub.cameras.values()):
        if time.monotonic() - t0 > timeout_s:
            raise SystemExit(f"not every camera came online within {timeout_s:.0f} s")
        await asyncio.sleep(0.2)
    return time.monotonic() - t0


async def run(n: int, seconds: float, segment: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bkhub-bench-") as tmp, CameraSimulator() as sim:
        urls = {
            f"bench-{i:03d}": sim.add_camera(f"bench-{i:03d}", clip="people", sub_stream=False)
            for i in range(n)
        }
        config_path = Path(tmp) / "config.yaml"
        write_config(config_path, urls, segment=segment)
        hub = Hub(load_config(config_path))
        await hub.start()
        try:
            online_after = await wait_online(hub)
            await asyncio.sleep(3)  # settle: first segments opened
            wall0, cpu0, sim0 = time.monotonic(), self_cpu_seconds(), proc_cpu_seconds(sim.pid)
            packets0 = sum(s.packets_total for s in hub.stream_stats().values())
            await asyncio.sleep(seconds)
            wall = time.monotonic() - wall0
            cpu = self_cpu_seconds() - cpu0
            sim_cpu = proc_cpu_seconds(sim.pid) - sim0
            packets = sum(s.packets_total for s in hub.stream_stats().values()) - packets0
        finally:
            await hub.stop()
        segments = sum(e.recorder.segments_written for e in hub.cameras.values() if e.recorder)
    per_cam = 100 * cpu / wall / n
    print(f"cameras                 {n} x 720p25 H.264 (simulated)")
    print(f"all online after        {online_after:.1f} s")
    print(f"window                  {wall:.1f} s")
    print(f"hub CPU                 {100 * cpu / wall:.1f} % of one core")
    print(f"hub CPU per camera      {per_cam:.2f} % of one core (demux + recording)")
    print(f"simulator CPU/camera    {100 * sim_cpu / wall / n:.2f} % (separate process)")
    print(f"packets per camera/s    {packets / wall / n:.1f}")
    print(f"segments finalized      {segments}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)  # before any library configures the root logger
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cameras", type=int, nargs="?", default=24)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--segment-seconds", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(run(args.cameras, args.seconds, args.segment_seconds))


if __name__ == "__main__":
    main()
