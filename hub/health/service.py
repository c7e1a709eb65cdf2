"""HealthService: every camera's monitor and sampler, the hub's own checks, their loops.

Tasks (all named, all owned here): `health:tick` evaluates every camera each check_every_s
(the OpenCV part in one worker thread per tick), `health:onvif` reads ONVIF clocks,
`health:recording` looks for recording gaps and the spool size and writes the heartbeat,
`health:digest` sends the district its daily digest. History and events go through the
HealthStore's single writer task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select

from camera_adapters.onvif import OnvifError, probe_onvif
from hub.config import HubConfig
from hub.config.health import CheckName
from hub.ingest.supervisor import CameraState, CameraSupervisor, OnvifSource
from hub.sampling import FrameMailbox, FrameSampler, SampledFrame
from storage.db.database import Database
from storage.db.models import Segment

from . import checks
from .digest import DigestJob
from .model import Change, Finding, Problem
from .monitor import CameraMonitor
from .rules import rules_from
from .schedule import KitchenSchedule
from .store import HealthStore, RaiseEvent

__all__ = ["HealthService", "HubProbe"]

log = logging.getLogger(__name__)

_ONVIF_TIMEOUT_S: Final = 10.0
_ONVIF_PARALLEL: Final = 4  # ONVIF probes at once: each parses WSDLs, ~0.1 s of CPU
_GAP_WINDOW_S: Final = 600.0  # recording gaps are looked for in the last 10 minutes


@dataclass(frozen=True, slots=True)
class HubProbe:
    """What the hub-wide checks read; callables so the service does not own the archive."""

    spool_usage: Callable[[], int]  # blocking (walks the spool): called in a thread
    spool_quota: int | None
    store_failing_since: Callable[[], datetime | None]
    detector_backlog: Callable[[], int | None]
    recording: bool
    segment_s: float


@dataclass(slots=True)
class _Watched:
    camera_id: str
    school_id: str
    kitchen: str | None
    supervisor: CameraSupervisor
    sampler: FrameSampler
    mailbox: FrameMailbox
    monitor: CameraMonitor
    onvif: OnvifSource | None


class HealthService:
    def __init__(
        self,
        config: HubConfig,
        db: Database,
        probe: HubProbe,
        *,
        raise_event: RaiseEvent | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._cfg = config.health
        self._db = db
        self._probe = probe
        self._clock = clock
        self._rules = rules_from(self._cfg)
        self.store = HealthStore(
            db, self._rules, raise_event=raise_event, shared=config.cluster.enabled
        )
        self._schedule = KitchenSchedule(
            self._cfg.kitchen_hours, ZoneInfo(config.district.timezone)
        )
        self._cameras: dict[str, _Watched] = {}
        self.hub_monitor = CameraMonitor(None, self._cfg, self._rules)
        self.digest = DigestJob(config, db, self.open_problems, raise_event=raise_event)
        self._tasks: list[asyncio.Task[None]] = []
        self.ticks = 0

    # -- cameras -----------------------------------------------------------------------------

    def watch(
        self,
        camera_id: str,
        school_id: str,
        kitchen: str | None,
        supervisor: CameraSupervisor,
        onvif: OnvifSource | None,
    ) -> None:
        """Monitor a camera, before start() or while running (its sampler starts at once,
        and it continues the problems its previous watcher left open). Idempotent."""
        if camera_id in self._cameras:
            return
        sampler = FrameSampler(
            camera_id,
            supervisor.fanout,
            interval_s=self._cfg.sample_every_s,
            width=self._cfg.sample_width,
        )
        self._cameras[camera_id] = _Watched(
            camera_id,
            school_id,
            kitchen,
            supervisor,
            sampler,
            sampler.subscribe("health"),
            CameraMonitor(camera_id, self._cfg, self._rules),
            onvif,
        )
        if self._tasks:  # running; before start() the store closes every stale row anyway
            self._cameras[camera_id].sampler.start()
            self.store.adopt(camera_id, self._cameras[camera_id].monitor.adopt)

    async def unwatch(self, camera_id: str) -> None:
        """Stop monitoring a camera. Handing it over is no recovery: its open problems stay
        open in the history for whoever watches it next (HealthStore.release). Idempotent."""
        watched = self._cameras.pop(camera_id, None)
        if watched is None:
            return
        await asyncio.to_thread(watched.sampler.stop)
        self.store.release(camera_id)

    def _watching(self, watched: _Watched) -> bool:
        """Still watched (a slow check may outlive an unwatch: its findings are dropped)."""
        return self._cameras.get(watched.camera_id) is watched

    def sampler(self, camera_id: str) -> FrameSampler | None:
        """The camera's frame sampler (the detector subscribes to it as well)."""
        watched = self._cameras.get(camera_id)
        return None if watched is None else watched.sampler

    def monitor(self, camera_id: str) -> CameraMonitor | None:
        watched = self._cameras.get(camera_id)
        return None if watched is None else watched.monitor

    def open_problems(self) -> list[Problem]:
        problems = [p for w in self._cameras.values() for p in w.monitor.problems.values()]
        return problems + list(self.hub_monitor.problems.values())

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if not self._cfg.enabled or self._tasks:
            return
        await self.store.start(self._now())
        for watched in self._cameras.values():
            watched.sampler.start()
        loops: dict[str, Callable[[], Coroutine[Any, Any, None]]] = {
            "health:tick": self._tick_loop,
            "health:onvif": self._onvif_loop,
            "health:recording": self._recording_loop,
        }
        if self._cfg.digest_at is not None:
            loops["health:digest"] = self.digest.run_forever
        self._tasks = [asyncio.create_task(fn(), name=name) for name, fn in loops.items()]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.gather(*(asyncio.to_thread(w.sampler.stop) for w in self._cameras.values()))
        await self.store.stop(self._now())

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # -- the tick ----------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        every = self._cfg.check_every_s
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("health: tick failed")
            await asyncio.sleep(every)

    async def tick(self) -> list[Change]:
        """One evaluation of every check that runs per tick; returns the changes made."""
        now = self._clock()
        at = datetime.fromtimestamp(now, UTC)
        work: list[tuple[_Watched, list[SampledFrame], bool]] = []
        for w in self._cameras.values():
            frames = w.mailbox.drain()
            work.append((w, frames, self._schedule.open_at(w.school_id, w.kitchen, at)))
        analysed = await asyncio.to_thread(_analyse_all, work)
        changes: list[Change] = []
        for (w, _frames, _open), findings in zip(work, analysed, strict=True):
            if not self._watching(w):
                continue
            changes += w.monitor.apply(findings)
            ticked = w.monitor.tick_findings(
                w.supervisor.status, w.supervisor.stats.snapshot(), w.sampler.timing.snapshot(), now
            )
            changes += w.monitor.apply([(now, f) for f in ticked])
        probe = self._probe
        hub_findings = [
            checks.judge_object_store(probe.store_failing_since(), at),
            checks.judge_detector(probe.detector_backlog()),
        ]
        changes += self.hub_monitor.apply([(now, f) for f in hub_findings])
        self.store.submit(changes)
        self.ticks += 1
        return changes

    # -- clocks ------------------------------------------------------------------------------

    async def _onvif_loop(self) -> None:
        limit = asyncio.Semaphore(_ONVIF_PARALLEL)
        while True:
            onvif = [w for w in self._cameras.values() if w.onvif is not None]
            await asyncio.gather(*(self._read_clock(w, limit) for w in onvif))
            await asyncio.sleep(self._cfg.onvif_clock_every_s)

    async def _read_clock(self, watched: _Watched, limit: asyncio.Semaphore) -> None:
        source = watched.onvif
        assert source is not None
        async with limit:
            try:
                info = await probe_onvif(
                    source.host,
                    source.port,
                    source.username,
                    source.password,
                    timeout=_ONVIF_TIMEOUT_S,
                )
            except OnvifError as exc:
                log.debug("%s: ONVIF clock not read: %s", watched.camera_id, exc)
                return  # an unreachable device shows as offline, not as a clock problem
        if not self._watching(watched):
            return
        finding = checks.judge_onvif_clock(info.clock_offset_s, self._cfg.thresholds)
        self.store.submit(watched.monitor.judge(finding, self._clock()))

    # -- recording gaps, spool, heartbeat ----------------------------------------------------

    async def _recording_loop(self) -> None:
        while True:
            await asyncio.sleep(self._cfg.recording_every_s)
            try:
                await self.check_recording()
            except Exception:
                log.exception("health: recording check failed")
            await self.store.heartbeat(self._now())

    async def check_recording(self) -> list[Change]:
        now = self._clock()
        at = datetime.fromtimestamp(now, UTC)
        probe, th = self._probe, self._cfg.thresholds
        usage = await asyncio.to_thread(probe.spool_usage)
        changes = self.hub_monitor.apply([(now, checks.judge_spool(usage, probe.spool_quota, th))])
        if probe.recording:
            horizon = at - timedelta(seconds=_GAP_WINDOW_S)
            async with self._db.session() as session:
                rows = (
                    await session.execute(
                        select(Segment.camera_id, Segment.start_at, Segment.end_at).where(
                            Segment.end_at > horizon
                        )
                    )
                ).all()
            by_camera: dict[str, list[tuple[datetime, datetime]]] = {}
            for camera_id, start, end in rows:
                by_camera.setdefault(camera_id, []).append((start, end))
            for w in self._cameras.values():
                changes += w.monitor.apply([(now, self._gaps(w, by_camera, at, horizon))])
        self.store.submit(changes)
        return changes

    def _gaps(
        self,
        w: _Watched,
        segments: dict[str, list[tuple[datetime, datetime]]],
        at: datetime,
        horizon: datetime,
    ) -> Finding:
        status = w.supervisor.status
        if status.state is not CameraState.ONLINE:
            return Finding(CheckName.RECORDING_GAP, None)
        online_since = max(datetime.fromtimestamp(status.since, UTC), horizon)
        gaps = checks.find_recording_gaps(
            segments.get(w.camera_id, []),
            online_since=online_since,
            now=at,
            segment_s=self._probe.segment_s,
            tolerance_s=self._cfg.thresholds.recording_gap_s,
        )
        return checks.judge_recording(gaps, self._cfg.thresholds)


def _analyse_all(
    work: list[tuple[_Watched, list[SampledFrame], bool]],
) -> list[list[tuple[float, Finding]]]:
    """The picture checks of every camera: OpenCV work, run in one worker thread per tick."""
    return [w.monitor.analyse(frames, open_now=open_now) for w, frames, open_now in work]
