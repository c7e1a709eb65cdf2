"""DetectionService: the shared inference engine, every camera's detection loop, the events.

    detection = DetectionService(config, db, store, raise_event=alerts.raise_event)
    detection.watch(camera, school_id, sampler, supervisor.fanout)   # per camera
    await detection.start()     # a model that cannot load: logged, the hub runs on without
    detection.watch(...); await detection.unwatch(camera_id)  # cameras come and go meanwhile
    await detection.stop()

The engine loads before any camera subscribes to its sampler, so a hub whose model is
missing decodes nothing for detection. Counters for /healthz come from `status()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import select

from detectors.runtime import DetectorError, InferenceEngine, MotionGate
from hub.config import Camera, HubConfig
from hub.config.detection import ViolationType, Zone
from hub.ingest.fanout import PacketFanout
from hub.sampling import FrameSampler
from storage.db.database import Database
from storage.db.models_suppression import SuppressionZone
from storage.objectstore import ObjectStore

from .camera import CameraDetector
from .events import CameraRef, RaiseEvent, ViolationEvents
from .hours import HygieneHours
from .judge import CameraJudge, JudgeSettings
from .media import EventMedia
from .pace import SamplePace
from .ring import PacketRing
from .suppression import as_zone

__all__ = ["DetectionService", "DetectionState"]

log = logging.getLogger(__name__)

# The pre-roll ring covers the pre-roll, the k-of-n window before an event is raised, and a
# long GOP (a clip must start at a keyframe at or before its start).
_RING_MARGIN_S: Final = 5.0
_MAILBOX_FRAMES: Final = 2  # newest wins: a late frame is worth less than the next one


class DetectionState(StrEnum):
    NEW = "new"
    DISABLED = "disabled"  # detector.enabled is false
    FAILED = "failed"  # the model could not be loaded: see `error`
    RUNNING = "running"
    STOPPED = "stopped"


_WATCHING: Final = frozenset({DetectionState.NEW, DetectionState.RUNNING})


@dataclass(frozen=True, slots=True)
class _Watch:
    camera: Camera
    school_id: str
    sampler: FrameSampler
    fanout: PacketFanout


class DetectionService:
    def __init__(
        self,
        config: HubConfig,
        db: Database,
        store: ObjectStore,
        *,
        raise_event: RaiseEvent | None,
        spool_dir: Path,
        engine: InferenceEngine | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._db = db
        self._det = config.detection
        self._clock = clock
        self._tz = ZoneInfo(config.district.timezone)
        self.engine = engine or InferenceEngine.from_config(config.detector)
        self.events = ViolationEvents(
            db,
            EventMedia(db, store, spool_dir),
            raise_event=raise_event,
            tz=self._tz,
            pre_roll_s=self._det.pre_roll_s,
            post_roll_s=self._det.post_roll_s,
            snapshot_quality=self._det.snapshot_quality,
        )
        self._watched: dict[str, _Watch] = {}
        self._loading: set[asyncio.Task[None]] = set()  # suppression zones of a new camera
        self._leaving: set[asyncio.Task[None]] = set()  # cameras being unwatched
        self._stopping = False
        self.cameras: dict[str, CameraDetector] = {}
        self.state = DetectionState.NEW if config.detector.enabled else DetectionState.DISABLED
        self.error: str | None = None

    def watch(
        self, camera: Camera, school_id: str, sampler: FrameSampler, fanout: PacketFanout
    ) -> None:
        """Detect on this camera (if its rules say so): before start(), or while running (its
        detector starts at once). Idempotent."""
        if not (camera.enabled and camera.detection.enabled and self._rules(camera)):
            return
        if camera.id in self._watched or self.state not in _WATCHING or self._stopping:
            return
        watch = self._watched[camera.id] = _Watch(camera, school_id, sampler, fanout)
        if self.state is DetectionState.RUNNING:
            # What a previous watcher left open is closed before this detector's first event
            # (one writer, in order); then the accepted suppression zones apply.
            self.events.close_left_open([camera.id])
            self._begin(watch)
            _track(self._loading, self.load_suppressions(camera.id), "detection:zones")

    async def unwatch(self, camera_id: str) -> None:
        """Stop detecting on a camera: its open violations end at their last sighting and a
        clip in progress is written with the video it has. Idempotent."""
        self._watched.pop(camera_id, None)
        if self._stopping:
            return  # stop() ends every camera's detector
        detector = self.cameras.pop(camera_id, None)
        if detector is not None:  # stop() waits for this before it stops the event writer
            await asyncio.shield(_track(self._leaving, self._leave(detector), "detection:leave"))

    async def _leave(self, detector: CameraDetector) -> None:
        await detector.stop()
        await self.events.clips_written(detector.camera.camera_id)

    def _rules(self, camera: Camera) -> frozenset[ViolationType]:
        chosen = camera.detection.rules
        return frozenset(chosen if chosen is not None else self._det.room_rules(camera.room))

    async def start(self) -> None:
        if self.state is not DetectionState.NEW:
            return
        try:
            await self.engine.start()
        except DetectorError as exc:
            self.state, self.error = DetectionState.FAILED, str(exc)
            log.error("detection not running: %s (the rest of the hub runs on)", exc)
            return
        await self.events.start(list(self._watched))
        for watch in self._watched.values():
            self._begin(watch)
        await self.load_suppressions()
        self.state = DetectionState.RUNNING
        log.info("detection running on %d cameras", len(self.cameras))

    def _begin(self, watch: _Watch) -> None:
        detector = self._camera(watch)
        self.cameras[watch.camera.id] = detector
        watch.sampler.start()  # idempotent: health may have started it already
        detector.start()

    async def stop(self) -> None:
        if self.state is not DetectionState.RUNNING:
            return
        self._stopping = True  # no camera is watched from now on
        for task in list(self._loading):
            task.cancel()
        await asyncio.gather(*self._loading, *self._leaving, return_exceptions=True)
        await asyncio.gather(*(detector.stop() for detector in self.cameras.values()))
        await self.engine.stop()
        await self.events.stop()
        self.state = DetectionState.STOPPED

    async def load_suppressions(self, camera_id: str | None = None) -> None:
        """Apply the accepted suppression zones from the database (all cameras, or one after a
        decision), so they hold across restarts and take effect at once."""
        query = select(SuppressionZone).where(SuppressionZone.accepted.is_(True))
        if camera_id is not None:
            query = query.where(SuppressionZone.camera_id == camera_id)
        async with self._db.session() as s:
            rows = list(await s.scalars(query))
        zones: dict[str, list[Zone]] = {c: [] for c in ([camera_id] if camera_id else self.cameras)}
        for row in rows:
            zones.setdefault(row.camera_id, []).append(
                as_zone(ViolationType(row.type), (row.x1, row.y1, row.x2, row.y2))
            )
        for camera, found in zones.items():
            if camera in self.cameras:
                self.cameras[camera].suppress(found)

    def _camera(self, watch: _Watch) -> CameraDetector:
        cfg, det, camera = self.config.detector, self._det, watch.camera
        rules = self._rules(camera)
        longest_n = max(det.persistence(t)[1] for t in rules)
        mailbox = watch.sampler.subscribe(
            "detector",
            _MAILBOX_FRAMES,
            interval_s=cfg.sample_interval_s,
            full_color=True,
            every_frame=True,
        )
        settings = JudgeSettings(
            rules=rules,
            zones=camera.detection.zones,
            persistence=det.persistence,
            min_score=self._min_score,
            cooldown_s=det.cooldown_s,
            update_every_s=det.update_every_s,
            track_max_age_s=det.track_max_age_s,
        )
        keep = det.pre_roll_s + longest_n * cfg.sample_interval_s + _RING_MARGIN_S
        return CameraDetector(
            CameraRef(camera.id, watch.school_id),
            mailbox=mailbox,
            gate=MotionGate.from_config(camera.id, cfg),
            detector=self.engine,
            judge=CameraJudge(settings),
            hours=HygieneHours(camera, watch.school_id, self.config.health.kitchen_hours, self._tz),
            events=self.events,
            ring=PacketRing(camera.id, watch.fanout, keep_s=keep),
            crop_classes=frozenset(cfg.crop_classes),
            recheck_s=cfg.recheck_s,
            clock=self._clock,
            pace=SamplePace(
                mailbox,
                interval_s=cfg.sample_interval_s,
                idle_interval_s=cfg.idle_sample_interval_s,
                idle_after_s=cfg.idle_after_s,
                now=self._clock(),
            ),
        )

    def _min_score(self, vtype: ViolationType) -> float:
        rule = self._det.type_rule(vtype)
        own = rule.min_confidence if rule is not None else None
        return max(self.config.detector.confidence, own or 0.0)

    # -- what health and /healthz read -------------------------------------------------------

    def backlog(self) -> int | None:
        """Samples waiting for the detector and event writes queued; None when not running."""
        if self.state is not DetectionState.RUNNING:
            return None
        return self.engine.stats().pending + self.events.backlog

    def totals(self) -> dict[str, Any]:
        """State and summed counters: no camera ids (for the unauthenticated /healthz)."""
        out: dict[str, Any] = {"state": str(self.state)}
        if self.state is not DetectionState.RUNNING:
            return out
        cameras = [d.counters for d in self.cameras.values()]
        out["cameras"] = len(cameras)
        for name in ("frames", "inferred", "still", "superseded", "late", "errors"):
            out[name] = sum(getattr(c, name) for c in cameras)
        out["open_events"] = sum(d.open_events for d in self.cameras.values())
        out["pending"] = self.engine.stats().pending
        out["events"] = dict(self.events.counts, backlog=self.events.backlog)
        return out

    def status(self) -> dict[str, Any]:
        """Everything, per camera too (logs, benches, tests)."""
        out: dict[str, Any] = {"state": str(self.state), "error": self.error}
        if self.state is not DetectionState.RUNNING:
            return out
        stats = self.engine.stats()
        out["engine"] = {
            "pending": stats.pending,
            "batches": stats.batches,
            "mean_batch": round(stats.mean_batch, 2),
            "infer_ms_p50": round(stats.infer_ms_p50, 1),
            "infer_ms_p95": round(stats.infer_ms_p95, 1),
            "dropped": sum(stats.dropped.values()),
            "failed": sum(stats.failed.values()),
        }
        out["events"] = dict(self.events.counts, backlog=self.events.backlog)
        out["cameras"] = {
            cid: dict(asdict(d.counters), open_events=d.open_events, overflowed=d.overflowed)
            for cid, d in self.cameras.items()
        }
        return out


def _track(
    tasks: set[asyncio.Task[None]], work: Coroutine[Any, Any, None], name: str
) -> asyncio.Task[None]:
    task = asyncio.create_task(work, name=name)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task
