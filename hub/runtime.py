"""The composition root: builds every component from the config, starts them in order,
stops them in reverse."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from hub.alerts import AlertService
from hub.cluster.owner import CameraOwner
from hub.config import Camera, HubConfig, School, advertised_url, node_name
from hub.detection import DetectionService
from hub.health import HealthService, HubProbe
from hub.ingest.backoff import Backoff
from hub.ingest.fanout import BATCH_WAKE
from hub.ingest.stats import StreamStats
from hub.ingest.substream import SubStreams
from hub.ingest.supervisor import (
    CameraSource,
    CameraSupervisor,
    IngestTimings,
    OnvifSource,
)
from hub.maintenance import MaintenanceJob, retention_policy
from hub.recording.recorder import SegmentRecorder
from hub.shown_frames import ShownFrames
from hub.status import StatusWriter
from hub.supervision import DutyReminders, LatestFrames
from storage.archive import SegmentArchive
from storage.db import models
from storage.db import repository as repo
from storage.db.database import Database
from storage.export import FootageExporter
from storage.objectstore import build_object_store
from storage.spool import Spool

log = logging.getLogger(__name__)

_LIVE_FRAME_S: Final = 15.0  # a newer frame than this is a live picture for evidence


class HubState(StrEnum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class CameraEntry:
    """A configured camera with the components that serve it."""

    camera_id: str
    school_id: str
    supervisor: CameraSupervisor
    recorder: SegmentRecorder | None


def camera_source(camera: Camera) -> CameraSource:
    """The ingest view of a configured camera: a fixed RTSP URL or an ONVIF device."""
    if camera.onvif is not None:
        onvif = camera.onvif
        return CameraSource(
            onvif=OnvifSource(
                host=onvif.host,
                port=onvif.port,
                username=onvif.username,
                password=onvif.password.get_secret_value(),
            )
        )
    password = camera.rtsp_password
    return CameraSource(
        rtsp_url=str(camera.rtsp_url),
        username=camera.rtsp_username,
        password=None if password is None else password.get_secret_value(),
    )


class Hub:
    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.tz = ZoneInfo(config.district.timezone)
        self.db = Database(config.database.url, echo=config.database.echo)
        self.spool = Spool(Path(config.recording.spool_dir), tz=self.tz)
        self.store = build_object_store(config.storage.object_store)
        self.archive = SegmentArchive(
            self.db,
            self.spool,
            self.store,
            quota_bytes=int(config.recording.spool_quota_gb * 1e9),
            node=node_name(config.cluster) if config.cluster.enabled else None,
        )
        self.status_writer = StatusWriter(self.db, self.stream_stats)
        # Alerts (hub/alerts): outbox delivery and escalation; `self.alerts.raise_event`
        # is how the detector and the health monitor record events.
        self.alerts = AlertService(config, self.db, snapshots=self._snapshot)
        self.exporter = FootageExporter(
            self.db,
            self.store,
            work_dir=Path(config.recording.spool_dir) / "export-work",
            spool=self.spool.ready_path,
        )
        self.maintenance = MaintenanceJob(
            self.db,
            self.store,
            retention_policy(config),
            [school.id for school in config.schools],
            expire_exports=self.exporter.expire,
        )
        # The day before a weekly or monthly duty falls due, whoever still owes it is told.
        self.reminders = DutyReminders(
            config,
            self.db,
            policy=self.alerts.policy,
            clock=self.alerts.clock,
            on_enqueued=self.alerts.wake,
        )
        self.cameras: dict[str, CameraEntry] = {}
        # Detection (hub/detection): the shared inference engine, each camera's rules, and
        # violation events with snapshot and clip. Runs only with `detector.enabled`.
        self.detection = DetectionService(
            config,
            self.db,
            self.store,
            raise_event=self.alerts.raise_event,
            spool_dir=Path(config.recording.spool_dir),
        )
        # Health (hub/health): samples keyframes, checks cameras and the hub, records history
        # and raises health events through the alerts outbox.
        self.health = HealthService(
            config,
            self.db,
            HubProbe(
                spool_usage=self.spool.usage_bytes,
                spool_quota=int(config.recording.spool_quota_gb * 1e9),
                store_failing_since=lambda: self.archive.failing_since,
                detector_backlog=self.detection.backlog,  # None: "not running"
                recording=config.recording.enabled,
                segment_s=config.recording.segment_seconds,
            ),
            raise_event=self.alerts.raise_event,
        )
        # Supervision rounds take evidence snapshots from each camera's newest frame; older
        # than a few samples, the camera is not live.
        self.frames = LatestFrames(max_age_s=max(_LIVE_FRAME_S, 3 * config.health.sample_every_s))
        self.shown_frames = ShownFrames()  # what the console boxed misses on
        # Sub-streams are pulled only while a live viewer needs one (web.live).
        self.substreams = SubStreams.from_config(config)
        self.state = HubState.NEW
        # In a cluster (cluster.nats_url) the cameras this node runs are the ones it holds a
        # lease on; the owner attaches and detaches them while the hub runs.
        self.owner: CameraOwner | None = None
        if config.cluster.enabled:
            self.owner = CameraOwner(
                config.cluster,
                node_name(config.cluster),
                [c.id for _, c in config.iter_cameras() if c.enabled],
                url=advertised_url(config.cluster, config.web),
                attach=self.attach_camera,
                detach=self.detach_camera,
            )
        self._attaching = asyncio.Lock()  # attach, detach and stop one at a time

    async def start(self, *, attach_all: bool = True) -> None:
        """Start the hub; with `attach_all` every enabled camera, else none (an owner of a
        varying set of cameras attaches and detaches them while the hub runs)."""
        if self.state is not HubState.NEW:
            raise RuntimeError(f"hub cannot start from state {self.state}")
        await self.db.start()
        await self._sync_registry()
        await self.alerts.start()  # never blocks: channel checks run in the background
        await self.archive.start()  # recovers the spool before any recorder writes to it
        self.status_writer.start()
        self.maintenance.start()
        self.reminders.start()
        if attach_all and self.owner is None:
            for school, camera in self.config.iter_cameras():
                if camera.enabled:
                    self._attach(school, camera)
        await self.health.start()
        await self.detection.start()  # a model that cannot load is logged; the hub runs on
        self.state = HubState.RUNNING
        log.info("hub running: %d cameras", len(self.cameras))
        if self.owner is not None:
            self.owner.start()

    def owned_cameras(self) -> set[str]:
        """The ids of the attached cameras."""
        return set(self.cameras)

    async def attach_camera(self, camera_id: str) -> None:
        """Start ingest, recording, health and detection for one configured, enabled camera
        of a running hub. Idempotent; a hub stopping or stopped attaches nothing."""
        school, camera = self._configured(camera_id)
        async with self._attaching:
            if self.state is HubState.NEW:
                raise RuntimeError("hub not started: attach cameras after start()")
            if self.state is HubState.RUNNING and camera_id not in self.cameras:
                self._attach(school, camera)
                log.info("%s attached", camera_id)

    async def detach_camera(self, camera_id: str) -> None:
        """Stop the camera's components: detection (open violations end, a clip in progress
        is written), health (its open problems stay open for the next owner), the RTSP
        session, then the recorder (its current segment goes to the spool and the archive).
        Idempotent; harmless while or after the hub stops (stop() stops every camera)."""
        async with self._attaching:
            entry = self.cameras.pop(camera_id, None) if self.state is HubState.RUNNING else None
            if entry is None:
                return
            self.frames.unwatch(camera_id)
            steps: tuple[Callable[[], Awaitable[None]], ...] = (
                partial(self.detection.unwatch, camera_id),
                partial(self.health.unwatch, camera_id),
                entry.supervisor.stop,
                partial(_stop_recorders, [entry]),
            )
            for step in steps:
                try:
                    await step()
                except Exception:
                    log.exception("%s: detach step failed", camera_id)
            log.info("%s detached", camera_id)

    def _configured(self, camera_id: str) -> tuple[School, Camera]:
        camera = self.config.camera(camera_id)  # KeyError: not in the config
        if not camera.enabled:
            raise ValueError(f"camera {camera_id!r} is disabled in the config")
        return self.config.school_of(camera_id), camera

    def _attach(self, school: School, camera: Camera) -> None:
        ingest = self.config.ingest
        source = camera_source(camera)
        supervisor = CameraSupervisor(
            camera.id,
            source,
            listener=self.status_writer,
            backoff=Backoff(
                initial_s=ingest.backoff_initial_s,
                max_s=ingest.backoff_max_s,
                jitter=ingest.backoff_jitter,
            ),
            timings=IngestTimings(
                open_timeout_s=ingest.open_timeout_s, transport=str(ingest.rtsp_transport)
            ),
        )
        recorder = None
        if self.config.recording.enabled:
            recorder = SegmentRecorder(
                camera_id=camera.id,
                school_id=school.id,
                subscription=supervisor.fanout.subscribe("recorder", wake_every=BATCH_WAKE),
                spool=self.spool,
                segment_seconds=self.config.recording.segment_seconds,
                on_segment=self.archive.segment_finished,
            )
            recorder.start()
        # Health and detection start this camera's parts at once when already running.
        self.health.watch(camera.id, school.id, camera.kitchen, supervisor, source.onvif)
        sampler = self.health.sampler(camera.id)  # one decode serves health and detection
        if sampler is not None:
            self.detection.watch(camera, school.id, sampler, supervisor.fanout)
            self.frames.watch(camera.id, sampler.subscribe("evidence", 1, full_color=True))
        supervisor.start()
        self.cameras[camera.id] = CameraEntry(camera.id, school.id, supervisor, recorder)

    async def stop(self) -> None:
        if self.owner is not None and self.state is HubState.RUNNING:
            await self.owner.stop()  # stops its cameras, then hands their leases back
        async with self._attaching:  # an attach or detach under way finishes first
            await self._stop()

    async def _stop(self) -> None:
        if self.state is not HubState.RUNNING:
            return
        # Reverse order of start; a failing step must not leave the later ones running.
        # Detection goes first (open violations end, clips in progress are written), then
        # health: a hub shutting down is no camera problem.
        steps = (
            self.detection.stop,
            self.health.stop,
            self._stop_ingest,
            self.maintenance.stop,
            self.reminders.stop,
            self.archive.stop,
            self.status_writer.stop,
            self.alerts.stop,
            self.db.stop,
        )
        for step in steps:
            try:
                await step()
            except Exception:
                log.exception("hub stop: %s failed", getattr(step, "__qualname__", step))
        self.state = HubState.STOPPED

    async def _stop_ingest(self) -> None:
        await self.substreams.stop()
        await asyncio.gather(*(entry.supervisor.stop() for entry in self.cameras.values()))
        await _stop_recorders(self.cameras.values())

    async def _snapshot(self, key: str) -> bytes | None:
        """A snapshot's bytes for an alert, or None when missing or too big to attach."""
        info = await self.store.stat(key)
        if info is None or info.size > self.config.alerts.delivery.max_snapshot_bytes:
            return None
        return await self.store.read_bytes(key)

    def stream_stats(self) -> dict[str, StreamStats]:
        return {cid: entry.supervisor.stats.snapshot() for cid, entry in self.cameras.items()}

    async def _sync_registry(self) -> None:
        towns, schools, cameras = registry_rows(self.config)
        async with self.db.session() as session:
            await repo.sync_registry(session, towns, schools, cameras)


async def _stop_recorders(entries: Iterable[CameraEntry]) -> None:
    """Each recorder finishes its current segment into the spool (a blocking remux), which
    the archive then stores."""
    await asyncio.gather(*(asyncio.to_thread(e.recorder.stop) for e in entries if e.recorder))


def registry_rows(
    cfg: HubConfig,
) -> tuple[list[models.Town], list[models.School], list[models.Camera]]:
    """The registry tables' rows for the configured towns, schools and cameras."""
    towns = [models.Town(id=t.id, name=t.name) for t in cfg.towns]
    schools = [
        models.School(id=s.id, name=s.name, town_id=s.town, kind=str(s.kind), boarding=s.boarding)
        for s in cfg.schools
    ]
    cameras = [
        models.Camera(
            id=c.id,
            school_id=s.id,
            kitchen_id=c.kitchen or "",
            name=c.name,
            room=str(c.room),
            enabled=c.enabled,
        )
        for s, c in cfg.iter_cameras()
    ]
    return towns, schools, cameras
