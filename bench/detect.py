"""Hub CPU per camera with detection, recording and health on, like for like against what a
user would script instead: ultralytics' multi-stream prediction plus one ffmpeg recorder per
camera.

    .venv/bin/python bench/detect.py 24 [--clip quiet-night|quiet-day|mix] [--seconds 60]
    .venv/bin/python bench/detect.py --find-sustained [--clip mix] [--start 8] [--max-cameras 96]
    .venv/bin/python bench/detect.py 32 --skip-ultralytics --both-rates   # adaptive sampling A/B

Starts N simulated 720p25 cameras (the simulator is its own process) serving a kitchen
scenario clip (detectors.scenes, cached in data/scenarios; `--clip people` for the
simulator's own clip; `--clip mix` = a canteen's day: 80 % of the cameras on quiet-day, every
fifth on the busy cold-dish-shift). Then, in one run on the same cameras:

1. The hub in this process (throw-away SQLite database and local store, recording in 60 s
   segments, health checks, detection at 1 sample/s per camera with the ONNX model) until
   every camera is online and every camera has judged samples; then this process's CPU over
   the window, what the detector did (samples judged and inferred, dropped, views, batches,
   inference time), and the simulator's CPU apart. The hub is stopped before phase 2.
2. The peer, as subprocesses measured together: one `ffmpeg -c copy -f segment` per camera
   (60 s MP4 segments, RTSP over TCP) and bench/ultralytics_streams.py:
   `model.predict(source=<.streams file>, stream=True)` on the same RTSP URLs with vid_stride
   = fps x sample interval (1 sample/s), imgsz 320, the model's .pt weights (the same
   network), RTSP over UDP (over TCP one stream of 24 soon stalls on this box and every
   batch waits for it: `--ultralytics-transport tcp`). After ultralytics' first batch, the
   CPU of every peer process over a window of the same length from /proc/<pid>/stat.

Prints both per camera and the ratio, with the issue's floors (>= 4x on quiet-night, >= 3x on
the mix). `--find-sustained` runs phase 1 only, for N = 8, 16, ... (from `--start`) until a
camera falls behind, and prints the largest N sustained: every camera judges >= 95 % of the
samples its pace asked for (less the one sample a window's edges can cut off) and at most 1 %
of them are dropped. The pace is adaptive, as in the default config (a camera still for 30 s
is sampled every 2 s until something moves); `--fixed-rate` keeps every camera at 1 sample/s,
and `--both-rates` measures phase 1 both ways on the same cameras and prints the ratio. The
box is shared and noisy: only ratios from one run mean much; the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final

# Run as a script, this folder comes first on sys.path, and bench/storage.py would shadow the
# `storage` package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.detect_peer import (
    CHECKPOINT,
    IMGSZ,
    SAMPLE_INTERVAL_S,
    SEGMENT_S,
    SETTLE_S,
    SUSTAINED,
    WEIGHTS,
    loadavg,
    peer_weights,
    row,
    run_peer,
    simulator_pid,
)
from bench.ingest import proc_cpu_seconds, self_cpu_seconds, wait_online, write_config
from bench.scenarios import CACHE, MODEL
from bench.threadcpu import snapshot, spent_by_role
from camera_adapters.simulator import CameraSimulator
from detectors.scenes import CATALOGUE, render_scenario
from detectors.scenes.video import FPS
from hub.config import load_config
from hub.config.detector import DetectorConfig
from hub.runtime import Hub

DEFAULT_CLIP = "quiet-day"  # hot kitchen, three cooks at work, one walking about, 20 s looped
# peer CPU per camera / hub CPU per camera, by clip (issue 16); other clips: no floor
FLOOR_RATIO: Final = {"quiet-night": 4.0, "mix": 3.0}
# cameras sustained, by clip (issue 16)
FLOOR_CAMERAS: Final = {"quiet-night": 64, "mix": 40, "quiet-day": 24}
MIX: Final = "mix"
MIX_QUIET, MIX_BUSY, MIX_BUSY_EVERY = "quiet-day", "cold-dish-shift", 5  # 80 % quiet, 20 % busy
IDLE_INTERVAL_S: Final = DetectorConfig().idle_sample_interval_s  # the default config's
MAX_DROPPED: Final = 0.01  # of the asked samples, still sustained
SUSTAINED_STEP: Final = 8
WARM_SAMPLES: Final = 2  # judged samples every camera has before the detector counts as warm

DETECTOR = """detector: {{enabled: true, sample_interval_s: {interval}, input_size: {imgsz},
           idle_sample_interval_s: {idle}, model_path: '{model}'}}
"""


@dataclass(frozen=True, slots=True)
class _Counts:
    """Detection counters summed over cameras (per camera: samples judged), at one moment."""

    judged: tuple[int, ...]  # samples judged, camera by camera
    asked: tuple[float, ...]  # samples each camera's pace asked for (adaptive sampling)
    idle: int  # cameras sampled at the idle rate at that moment
    inferred: int  # samples the detector ran on (the rest: the motion gate saw no change)
    late: int  # samples a newer one replaced in (or pushed out of) the camera's mailbox
    superseded: int  # samples the engine replaced with a newer one of the same camera
    lost_packets: int  # packets the samplers' queues dropped (keyframes among them)
    errors: int
    views: int  # model inputs: a whole frame or a crop each
    batches: int

    @classmethod
    def of(cls, hub: Hub) -> _Counts:
        detectors = [hub.detection.cameras[cid] for cid in sorted(hub.detection.cameras)]
        samplers = [hub.health.sampler(cid) for cid in sorted(hub.detection.cameras)]
        stats = hub.detection.engine.stats()
        now = time.time()
        return cls(
            judged=tuple(d.counters.frames for d in detectors),
            asked=tuple(d.pace.asked(now) if d.pace else 0.0 for d in detectors),
            idle=sum(bool(d.pace and d.pace.idle) for d in detectors),
            inferred=sum(d.counters.inferred for d in detectors),
            late=sum(d.counters.late + d.overflowed for d in detectors),
            superseded=sum(stats.dropped.values()),
            lost_packets=sum(s.dropped_packets for s in samplers if s is not None),
            errors=sum(d.counters.errors for d in detectors),
            views=stats.views,
            batches=stats.batches,
        )

    def __sub__(self, before: _Counts) -> _Counts:
        judged = tuple(a - b for a, b in zip(self.judged, before.judged, strict=True))
        asked = tuple(a - b for a, b in zip(self.asked, before.asked, strict=True))
        rest = {
            f.name: getattr(self, f.name) - getattr(before, f.name)
            for f in fields(self)
            if f.name not in ("judged", "asked", "idle")
        }
        return _Counts(judged, asked, self.idle, **rest)

    @property
    def dropped(self) -> int:
        return self.late + self.superseded + self.lost_packets


def _clip(name: str) -> str | Path:
    """The simulator's named clip, or a scenario's rendered clip (cached)."""
    if name not in CATALOGUE:
        return name
    t0 = time.monotonic()
    clip = render_scenario(CATALOGUE[name], CACHE)
    row("clip", f"{name}: {clip.path.name} (ready in {time.monotonic() - t0:.1f} s)")
    return clip.path


@dataclass(frozen=True, slots=True)
class _Result:
    cpu_per_camera: float  # % of one core
    cpu_per_sample: float  # CPU seconds per sample the model ran on
    views_per_sample: float = 1.0  # model inputs per sample: whole frame (+ motion crops)
    sustained: bool = True


async def run_hub(
    sim: CameraSimulator, urls: dict[str, str], tmp: Path, seconds: float, *, adaptive: bool
) -> _Result:
    """Phase 1: the hub with recording and detection on these cameras; `adaptive`: still
    cameras are sampled at the idle rate (the default config), else always at the full one."""
    n, sim_pid = len(urls), simulator_pid(sim)
    await asyncio.to_thread(tmp.mkdir, parents=True, exist_ok=True)
    config_path = tmp / "config.yaml"
    idle = IDLE_INTERVAL_S if adaptive else SAMPLE_INTERVAL_S
    extra = DETECTOR.format(interval=SAMPLE_INTERVAL_S, idle=idle, imgsz=IMGSZ, model=MODEL)
    write_config(config_path, urls, segment=SEGMENT_S, extra=extra)
    hub = Hub(load_config(config_path))
    await hub.start()
    try:
        if len(hub.detection.cameras) != n:
            raise SystemExit(
                f"detection {hub.detection.state} on {len(hub.detection.cameras)} of {n} "
                f"cameras: {hub.detection.error}"
            )
        online_after = await wait_online(hub)
        t0 = time.monotonic()
        while min(_Counts.of(hub).judged) < WARM_SAMPLES:
            if time.monotonic() - t0 > 120:
                raise SystemExit("the detector judged no samples on some camera within 120 s")
            await asyncio.sleep(0.5)
        warm_after = time.monotonic() - t0
        # Adaptive: still cameras slow down after idle_after_s; measure the steady state.
        await asyncio.sleep(SETTLE_S + (hub.config.detector.idle_after_s if adaptive else 0))
        load0 = loadavg()
        wall0, cpu0, sim0 = time.monotonic(), self_cpu_seconds(), proc_cpu_seconds(sim_pid)
        counts0, threads0 = _Counts.of(hub), snapshot()
        await asyncio.sleep(seconds)
        wall = time.monotonic() - wall0
        cpu = self_cpu_seconds() - cpu0
        by_role = spent_by_role(threads0, snapshot())
        sim_cpu = proc_cpu_seconds(sim_pid) - sim0
        c = _Counts.of(hub) - counts0
        stats = hub.detection.engine.stats()
    finally:
        await hub.stop()
    segments = sum(e.recorder.segments_written for e in hub.cameras.values() if e.recorder)
    asked = sum(c.asked) / wall / n
    # A window holds a sample more or less by where its edges fall (1 in 30 at 0.5/s): a
    # camera keeps up when it is short of 95 % of its asked samples by less than that one.
    keeping_up = min((j + 1) / max(a, 1.0) for j, a in zip(c.judged, c.asked, strict=True))
    result = _Result(
        cpu_per_camera=100 * cpu / wall / n,
        cpu_per_sample=cpu / max(c.inferred, 1),
        views_per_sample=c.views / max(c.inferred, 1),
        sustained=c.errors == 0
        and c.dropped <= MAX_DROPPED * sum(c.asked)
        and keeping_up >= SUSTAINED,
    )
    pace = f"adaptive: {IDLE_INTERVAL_S:.0f} s when still" if adaptive else "fixed rate"
    print(f"-- hub: recording + detection at 1 sample/s per camera ({pace}; onnxruntime)")
    row("load average", f"{load0} (1/5/15 min, at the window's start)")
    row("all online after", f"{online_after:.1f} s, detector warm {warm_after:.1f} s later")
    row("window", f"{wall:.1f} s")
    row("hub CPU", f"{100 * cpu / wall:.1f} % of one core")
    row("hub CPU per camera", f"{result.cpu_per_camera:.2f} % of one core (all of the hub)")
    row(
        "samples judged/cam/s",
        f"{sum(c.judged) / wall / n:.2f} (asked {asked:.2f}, {c.idle} of {n} cameras at the idle "
        f"rate at the end; slowest camera judged {100 * keeping_up:.0f} % of its asked, +1)",
    )
    row(
        "samples inferred/cam/s",
        f"{c.inferred / wall / n:.2f} (the rest: no motion, last detections kept)",
    )
    # The shortfall against the asked rate is every sample not judged, wherever it went.
    short = sum(max(0.0, a - j) for j, a in zip(c.judged, c.asked, strict=True))
    row(
        "dropped samples",
        f"{c.dropped} counted (mailbox {c.late}, engine {c.superseded}, sampler packets "
        f"{c.lost_packets}), {short:.0f} short of {sum(c.asked):.0f} asked; errors {c.errors}",
    )
    row(
        "engine views/s",
        f"{c.views / wall:.1f} ({result.views_per_sample:.2f} per inferred sample), "
        f"mean batch {c.views / max(c.batches, 1):.2f}",
    )
    row(
        "inference ms/batch",
        f"p50 {stats.infer_ms_p50:.0f}, p95 {stats.infer_ms_p95:.0f} "
        f"({stats.view_ms_mean:.1f} ms per view)",
    )
    row("CPU per inferred sample", f"{1000 * result.cpu_per_sample:.0f} ms (all hub CPU)")
    ended = cpu - sum(by_role.values())  # threads that ended within the window
    parts = [*by_role.most_common(), ("threads that ended", ended)]
    row(
        "hub CPU by thread role",
        ", ".join(f"{role} {100 * s / wall / n:.2f}" for role, s in parts if s > 0.005 * wall)
        + " (% of one core per camera)",
    )
    row("simulator CPU/camera", f"{100 * sim_cpu / wall / n:.2f} % (separate process)")
    row("segments finalized", str(segments))
    return result


def _clips(name: str, n: int) -> list[str | Path]:
    """The clip of each of n cameras: one for all, or the mix (every fifth camera busy)."""
    if name != MIX:
        return [_clip(name)] * n
    quiet, busy = _clip(MIX_QUIET), _clip(MIX_BUSY)
    return [busy if i % MIX_BUSY_EVERY == MIX_BUSY_EVERY - 1 else quiet for i in range(n)]


def _add_cameras(sim: CameraSimulator, clips: list[str | Path]) -> dict[str, str]:
    names = [f"det-{i:03d}" for i in range(len(clips))]
    return {
        name: sim.add_camera(name, clip=clip, sub_stream=False)
        for name, clip in zip(names, clips, strict=True)
    }


async def run(args: argparse.Namespace) -> None:
    n = args.cameras
    with tempfile.TemporaryDirectory(prefix="bkhub-detect-") as tmp_dir, CameraSimulator() as sim:
        tmp = Path(tmp_dir)
        weights = None if args.skip_ultralytics else peer_weights(args.weights, tmp)
        urls = _add_cameras(sim, _clips(args.clip, n))
        row("cameras", f"{n} x 720p{FPS} H.264 (simulated), clip {args.clip}")
        row("cores", f"{os.cpu_count()}, load average {loadavg()}")
        fixed = None
        if args.both_rates:  # the adaptive-sampling lever, side by side on the same cameras
            fixed = await run_hub(sim, urls, tmp / "hub-fixed", args.seconds, adaptive=False)
        adaptive = not args.fixed_rate
        hub = await run_hub(sim, urls, tmp / "hub", args.seconds, adaptive=adaptive)
        peer = None
        if weights is not None:
            peer = await run_peer(
                sim,
                list(urls.values()),
                tmp,
                weights=weights,
                seconds=args.seconds,
                ready_timeout=args.ready_timeout,
                transport=args.ultralytics_transport,
            )
    print("-- side by side (floors from the issue)")
    if fixed is not None:
        row(
            "adaptive sampling",
            f"fixed rate {fixed.cpu_per_camera:.2f} % / adaptive {hub.cpu_per_camera:.2f} % "
            f"= {fixed.cpu_per_camera / hub.cpu_per_camera:.2f}x",
        )
    if peer is not None:
        ratio = peer.cpu_per_camera / hub.cpu_per_camera
        floor = FLOOR_RATIO.get(args.clip)
        verdict = (
            "no floor"
            if floor is None
            else f"floor {floor:.0f}x: " + ("met" if ratio >= floor else "NOT met")
        )
        row(
            "CPU per camera",
            f"peer {peer.cpu_per_camera:.2f} % / hub {hub.cpu_per_camera:.2f} % = {ratio:.1f}x "
            f"({verdict})",
        )
        row(
            "without recording",
            f"ultralytics / hub = {peer.ultralytics_cpu_per_camera / hub.cpu_per_camera:.1f}x "
            "(the hub still records)",
        )
        per_sample = peer.ultralytics_cpu_per_sample / hub.cpu_per_sample
        row(
            "CPU per inferred sample",
            f"ultralytics / hub = {per_sample:.1f}x (hub {hub.views_per_sample:.1f} model "
            "inputs a sample with crops, ultralytics 1)"
            if per_sample < float("inf")
            else "- (ultralytics predicted nothing in its window)",
        )
    elif weights is not None:
        row("CPU per camera", "no peer figures (see above)")
    row(f"{n} cameras sustained", "yes" if hub.sustained else "NO")


async def find_sustained(args: argparse.Namespace) -> None:
    """Phase 1 for N = 8, 16, ... until a camera falls behind: the largest N sustained."""
    with tempfile.TemporaryDirectory(prefix="bkhub-detect-") as tmp_dir, CameraSimulator() as sim:
        tmp = Path(tmp_dir)
        urls = _add_cameras(sim, _clips(args.clip, args.max_cameras))
        row("clip", f"{args.clip}; cores {os.cpu_count()}, load average {loadavg()}")
        best, tried = 0, []
        start = max(SUSTAINED_STEP, args.start // SUSTAINED_STEP * SUSTAINED_STEP)
        for n in range(start, args.max_cameras + 1, SUSTAINED_STEP):
            print(f"== {n} cameras")
            first = dict(list(urls.items())[:n])
            try:
                result = await run_hub(
                    sim, first, tmp / f"hub-{n}", args.seconds, adaptive=not args.fixed_rate
                )
            except SystemExit as exc:  # not online or never warm: not sustained either
                print(f"{n} cameras: {exc}")
                tried.append((n, "failed"))
                break
            tried.append((n, f"{result.cpu_per_camera:.2f} %/camera, " + (
                "sustained" if result.sustained else "NOT sustained")))  # fmt: skip
            if not result.sustained:
                break
            best = n
    print("-- cameras sustained (every camera >= 95 % of its asked samples, <= 1 % dropped)")
    for n, what in tried:
        row(f"{n} cameras", what)
    floor = FLOOR_CAMERAS.get(args.clip)
    verdict = "no floor" if floor is None else f"floor {floor}: " + (
        "met" if best >= floor else "NOT met")  # fmt: skip
    row("largest N sustained", f"{best} ({verdict})")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)  # before any library configures the root logger
    logging.disable(logging.INFO)  # the database migrations set the root logger to INFO
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cameras", type=int, nargs="?", default=24)
    parser.add_argument("--seconds", type=float, default=60.0, help="each measuring window")
    parser.add_argument("--skip-ultralytics", action="store_true", help="phase 1 only")
    parser.add_argument(
        "--weights", type=Path, help=f"ultralytics' weights (default {WEIGHTS}, else {CHECKPOINT})"
    )
    parser.add_argument(
        "--clip",
        default=DEFAULT_CLIP,
        help="a detectors.scenes scenario, a simulator clip name, or mix (80 %% quiet-day, "
        "20 %% cold-dish-shift)",
    )
    parser.add_argument(
        "--find-sustained", action="store_true", help="the largest N (step 8) sustained"
    )
    parser.add_argument("--max-cameras", type=int, default=96, help="with --find-sustained")
    parser.add_argument(
        "--start", type=int, default=SUSTAINED_STEP, help="with --find-sustained: first N tried"
    )
    parser.add_argument(
        "--fixed-rate", action="store_true", help="no adaptive sampling: every camera at 1/s"
    )
    parser.add_argument(
        "--both-rates", action="store_true", help="phase 1 at the fixed rate, then adaptive"
    )
    parser.add_argument(
        "--ultralytics-transport",
        choices=("udp", "tcp"),
        default="udp",
        help="RTSP transport of ultralytics' OpenCV captures (tcp: one stalled stream soon "
        "stops every batch on a loaded box)",
    )
    parser.add_argument(
        "--ready-timeout", type=float, default=300.0, help="seconds ultralytics may take to start"
    )
    args = parser.parse_args()
    asyncio.run(find_sustained(args) if args.find_sustained else run(args))


if __name__ == "__main__":
    main()
