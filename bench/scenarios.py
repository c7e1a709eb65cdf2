"""Scenario suite: scripted kitchen clips with ground truth, through the simulator and the hub.

    .venv/bin/python bench/scenarios.py [--only hat-off,rat-night] [--max-run-s 120]
    .venv/bin/python bench/scenarios.py --render-only      # fill the clip cache, run nothing
    .venv/bin/python bench/scenarios.py --list

Every scenario of detectors.scenes.CATALOGUE (and the real sample video, see below) is
rendered once into the cache (data/scenarios, keyed by a hash of its script), served by the
camera simulator as one looping camera in its scenario's room, and pulled by a whole hub
(this process, throw-away SQLite database, detector enabled, recording and health off). All
cameras run side by side for the longest watch time (10 minutes: the violation-free clips'),
so shorter clips play several passes and each pass counts. Prints precision, recall,
onset-to-event latency p50/p95 and events per hour on violation-free footage, against the
floors below; exit status 1 when a floor is missed.

The real sample video shows people without chef hats walking into an office: in a kitchen
that is a no_chef_hat violation, and the hub rightly raises it (one event per pass when the
camera has hot_kitchen rules). It is violation-free only as a camera where hygiene rules do not
apply, so it is watched with pest rules only (detection: {rules: [rat, cockroach]}): any event
there is a false pest.

Clip time to wall time: a mount starts its clip at frame 0 when the hub first plays it and
loops it; the simulator notes the wall-clock time of every pass's frame 0 (and of any jump),
and `detectors.scenes.scoring.wall_spans` puts each ground-truth interval of each pass on the
wall clock from those anchors (to ~0.05 s: frames go out at most 40 ms ahead of their time).
Latency: the bench polls the events table every POLL_S and notes when each row first appears;
latency is that moment minus the interval's onset (what a watcher of the console would see).
The event's own started_at minus the onset is printed as well: the hub may date an event back
to its first evidence, which makes that figure look better than the wait for the event.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this folder comes first on sys.path, and bench/storage.py would shadow the
# `storage` package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from camera_adapters.simulator import SAMPLE_VIDEOS, CameraSimulator
from camera_adapters.simulator.h264_annexb import split_access_units
from camera_adapters.simulator.simulator import ClipAnchor
from detectors.scenes import CATALOGUE, Violation, footage_clip, render_scenario
from detectors.scenes.catalogue import QUIET_RUN_S
from detectors.scenes.scoring import HubEvent, Score, TruthSpan, score, wall_spans
from detectors.scenes.video import FPS
from hub.config import load_config
from hub.config.detector import DetectorConfig
from hub.runtime import Hub
from storage.db import models

REPO = Path(__file__).resolve().parents[1]
# Real footage (camera id -> file in SAMPLE_VIDEOS), watched with pest rules only.
REAL_FOOTAGE = {"real-one-by-one": "one-by-one-person-detection.mp4"}
REAL_RULES = ("rat", "cockroach")
MODEL = REPO / DetectorConfig().model_path  # what the hub runs by default
CACHE = REPO / "data" / "scenarios"
FLOOR_PRECISION, FLOOR_RECALL, FLOOR_P95_S = 0.95, 0.95, 5.0
POLL_S = 0.25  # the "seen" latency is this coarse
# The hub's default cooldown (60 s) would fold a looping clip's next pass into the same event:
# the catalogue keeps same-type violations >= 25 s apart, so 15 s separates them.
COOLDOWN_S = 15.0

CONFIG = """
district: {{id: bench, name: 场景基准区}}
towns: []
schools:
  - id: bench-school
    name: 场景基准学校
    kind: primary
    kitchens: [{{id: main, name: 主厨房}}]
    cameras:
{cameras}
recording: {{enabled: false, spool_dir: spool}}
storage: {{object_store: {{type: local, root: objects}}}}
database: {{url: "sqlite+aiosqlite:///hub.db"}}
health: {{enabled: false}}
detector: {{enabled: true, model_path: '{model}'{detector}}}
detection: {{cooldown_s: {cooldown}{detection}}}
"""


@dataclass(frozen=True, slots=True)
class Feed:
    """One simulated camera: a clip, its room and its ground truth."""

    name: str
    room: str
    clip: Path
    truth: tuple[Violation, ...]
    frames: int
    watch_s: float
    real: bool = False
    rules: tuple[str, ...] | None = None  # None: the room's rules


def prepare(names: list[str], cache: Path) -> list[Feed]:
    feeds = []
    for name in (n for n in names if n in CATALOGUE):
        t0 = time.monotonic()
        clip = render_scenario(CATALOGUE[name], cache)
        s = clip.scenario
        feeds.append(Feed(name, s.room, clip.path, clip.truth, clip.frames, s.watch_s))
        print(f"  {name:22s} {s.duration_s:4d} s clip ready in {time.monotonic() - t0:5.1f} s")
    for name in (n for n in names if n in REAL_FOOTAGE):
        source = SAMPLE_VIDEOS / REAL_FOOTAGE[name]
        if not source.is_file():
            print(f"  {name:22s} skipped: no {source}")
            continue
        path = footage_clip(source, cache)
        frames = len(split_access_units(path.read_bytes()))
        feeds.append(Feed(name, "hot_kitchen", path, (), frames, QUIET_RUN_S, real=True,
                          rules=REAL_RULES))  # fmt: skip
        print(f"  {name:22s} {frames / FPS:4.0f} s of real footage ready")
    return feeds


def write_config(
    path: Path, feeds: list[Feed], urls: dict[str, str], args: argparse.Namespace
) -> None:
    cams = "\n".join(
        f"      - {{id: {f.name}, name: {f.name}, room: {f.room}, rtsp_url: '{urls[f.name]}'"
        + (f", detection: {{rules: [{', '.join(f.rules)}]}}}}" if f.rules is not None else "}")
        for f in feeds
    )
    extra = {k: f", {v}" if v else "" for k, v in (("d", args.detector), ("n", args.detection))}
    path.write_text(
        CONFIG.format(
            cameras=cams,
            model=args.model.resolve(),
            detector=extra["d"],
            cooldown=args.cooldown_s,
            detection=extra["n"],
        ),
        encoding="utf-8",
    )


async def read_events(hub: Hub) -> list[models.Event]:
    async with hub.db.session() as session:
        rows = await session.scalars(
            select(models.Event).where(models.Event.kind == models.EventKind.VIOLATION.value)
        )
        return list(rows)


async def watch(hub: Hub, seconds: float) -> tuple[list[HubEvent], float]:
    """Poll the events table until `seconds` have passed; the events and when watching ended."""
    seen: dict[str, float] = {}
    rows: list[models.Event] = []
    start = time.monotonic()
    next_report = 60.0
    while (elapsed := time.monotonic() - start) < seconds:
        rows = await read_events(hub)
        now = time.time()
        for row in rows:
            seen.setdefault(row.id, now)
        if elapsed >= next_report:
            print(f"  {elapsed / 60:4.1f} min: {len(rows)} violation events so far")
            next_report += 60.0
        await asyncio.sleep(POLL_S)
    until = time.time()
    events = [
        HubEvent(r.id, r.camera_id or "", r.type, r.started_at.timestamp(), seen.get(r.id))
        for r in await read_events(hub)
    ]
    return events, until


async def run(args: argparse.Namespace) -> int:
    everything = [*CATALOGUE, *([] if args.no_real else REAL_FOOTAGE)]
    names = [n for n in args.only.split(",") if n] if args.only else everything
    unknown = [n for n in names if n not in CATALOGUE and n not in REAL_FOOTAGE]
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(unknown)}")
    print(f"clips (cache {args.cache_dir}):")
    feeds = prepare(names, args.cache_dir)
    if not feeds:
        raise SystemExit("nothing to run")
    if args.render_only:
        return 0
    if not args.model.is_file():
        raise SystemExit(f"no model at {args.model}: train/export one or pass --model")
    seconds = args.run_s or min(max(f.watch_s for f in feeds), args.max_run_s or float("inf"))
    with tempfile.TemporaryDirectory(prefix="bkhub-scenarios-") as tmp, CameraSimulator() as sim:
        urls = {f.name: sim.add_camera(f.name, clip=f.clip, sub_stream=False) for f in feeds}
        config_path = Path(tmp) / "config.yaml"
        write_config(config_path, feeds, urls, args)
        hub = Hub(load_config(config_path))
        print(f"watching {len(feeds)} cameras for {seconds:.0f} s")
        started = time.time()
        await hub.start()
        try:
            events, until = await watch(hub, seconds)
        finally:
            await hub.stop()
        timelines = {f.name: sim.timeline(f.name) for f in feeds}
    spans: list[TruthSpan] = []
    for feed in feeds:
        anchors = timelines[feed.name]
        spans += wall_spans(feed.name, feed.truth, anchors, fps=FPS, frames=feed.frames)
    return report(feeds, events, spans, (started, until), timelines)


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def report(
    feeds: list[Feed],
    events: list[HubEvent],
    spans: list[TruthSpan],
    window: tuple[float, float],
    timelines: dict[str, list[ClipAnchor]],
) -> int:
    started, until = window
    total = score(events, spans, until=until)
    print(f"\n{'camera':22s} {'room':12s} passes  due found events  FP   p50 s  p95 s")
    quiet = {"synthetic": [0, 0.0], "real": [0, 0.0]}
    for feed in feeds:
        mine = score(
            [e for e in events if e.camera == feed.name],
            [s for s in spans if s.camera == feed.name],
            until=until,
        )
        anchors = timelines[feed.name]
        passes = sum(1 for a in anchors if a.frame == 0)
        fp = mine.duplicates + mine.unmatched
        print(
            f"{feed.name:22s} {feed.room:12s} {passes:6d} {len(mine.due):4d} {len(mine.found):5d}"
            f" {mine.events:6d} {fp:3d} {_fmt(mine.latency(50)):>7s} {_fmt(mine.latency(95)):>6s}"
        )
        if not feed.truth and anchors:
            bucket = quiet["real" if feed.real else "synthetic"]
            bucket[0] += mine.events
            bucket[1] += (until - min(a.wall_s for a in anchors)) / 3600
    by_type = Counter(e.type for e in events)
    print(f"\nevents by type: {dict(by_type) or '{}'}")
    _print_totals(total, quiet, started)
    return 0 if _floors_met(total, quiet) else 1


def _print_totals(total: Score, quiet: dict[str, list[float]], started: float) -> None:
    print(f"violations due {len(total.due)}, found {len(total.found)}; events {total.events}:")
    print(f"  true {total.true_positives}, duplicate {total.duplicates}, "
          f"matching nothing {total.unmatched}")  # fmt: skip
    print(f"precision       {_fmt(total.precision, '.3f'):>7s}   floor >= {FLOOR_PRECISION}")
    print(f"recall          {_fmt(total.recall, '.3f'):>7s}   floor >= {FLOOR_RECALL}")
    print(f"latency p50     {_fmt(total.latency(50, seen=True)):>7s} s (event row first seen)")
    print(f"latency p95     {_fmt(total.latency(95, seen=True)):>7s} s  floor <= {FLOOR_P95_S}")
    print(f"started_at p50 / p95 {_fmt(total.latency(50))} / {_fmt(total.latency(95))} s "
          "(the event's start as the hub recorded it)")  # fmt: skip
    for kind, (count, hours) in quiet.items():
        rate = count / hours if hours else None
        print(f"violation-free {kind:9s}: {int(count)} events in {hours:.2f} camera-hours "
              f"({_fmt(rate, '.1f')}/h), floor 0")  # fmt: skip
    for span in total.missed:
        print(f"  missed: {span.camera} {span.type} ({span.actor}) at clip {span.clip_s:.1f} s,"
              f" run +{span.start - started:.1f} s")  # fmt: skip
    for match in total.matches:
        if match.span is None or match.duplicate:
            what = "duplicate" if match.duplicate else "false positive"
            e = match.event
            print(f"  {what}: {e.camera} {e.type} at run +{e.start - started:.1f} s")


def _floors_met(total: Score, quiet: dict[str, list[float]]) -> bool:
    p95 = total.latency(95, seen=True)
    checks = {
        "precision": total.precision is None or total.precision >= FLOOR_PRECISION,
        "recall": total.recall is not None and total.recall >= FLOOR_RECALL,
        "latency p95": p95 is not None and p95 <= FLOOR_P95_S,
        "violation-free": all(count == 0 for count, _ in quiet.values()),
    }
    failed = [name for name, ok in checks.items() if not ok]
    print("floors: " + ("all met" if not failed else "MISSED " + ", ".join(failed)))
    return not failed


def main() -> None:
    # force: onvif-zeep configures the root logger at INFO when the hub imports it.
    logging.basicConfig(level=logging.WARNING, force=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated names (see --list)")
    parser.add_argument("--no-real", action="store_true", help="leave out the real footage")
    parser.add_argument("--max-run-s", type=float, default=0, help="cap the watch time")
    parser.add_argument(
        "--run-s", type=float, default=0, help="watch this long (more passes of each clip)"
    )
    parser.add_argument("--cache-dir", type=Path, default=CACHE)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--cooldown-s", type=float, default=COOLDOWN_S)
    parser.add_argument("--detector", default="", help="extra detector keys, YAML: 'a: 1, b: 2'")
    parser.add_argument("--detection", default="", help="extra detection keys, YAML")
    parser.add_argument("--render-only", action="store_true", help="fill the cache and stop")
    parser.add_argument("--list", action="store_true", help="print the catalogue and stop")
    args = parser.parse_args()
    if args.list:
        for s in CATALOGUE.values():
            light = "night" if s.night else "day"
            print(f"{s.name:22s} {s.room:12s} {light:5s} {s.duration_s:3d} s  {s.description}")
        for name, file in REAL_FOOTAGE.items():
            print(f"{name:22s} {'hot_kitchen':12s} real  {file} (CC BY 4.0), pest rules only")
        return
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
