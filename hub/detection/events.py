"""Violation events in the database, with their snapshot and clip.

The cameras' loops never wait for the database or the object store: every write is a job
on one bounded queue, run in order by one writer task (an event's row is written before its
updates, its updates before its end). An opened event first gets its annotated snapshot and
its unannotated frame (stored, or kept locally when the store is down: the row is written
either way), then its clip: once the post-roll has passed, the pre-roll ring's packets from
`pre_roll_s` before the start to `post_roll_s` after the event was raised become a copy-mode
MP4, stored like any clip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from detectors.detection import Detection
from hub.config.detection import PESTS
from storage.db.database import Database
from storage.db.models import Event, EventKind
from storage.mp4 import Mp4Error

from .geometry import Box
from .media import EventMedia, media_key, write_clip
from .ring import PacketRing
from .rules import Closed, Opened, Updated
from .snapshot import SnapshotError, encode_frame, render_snapshot

__all__ = ["CameraRef", "RaiseEvent", "ViolationEvents", "evidence_boxes"]

log = logging.getLogger(__name__)

RaiseEvent = Callable[[AsyncSession, Event], Awaitable[Event]]
Job = Callable[[], Awaitable[None]]

_QUEUE_LIMIT: Final = 10_000  # jobs; reached only when the database is stuck
_CLIP_GRACE_S: Final = 30.0  # beyond the post-roll, how long a clip waits for its video
_STOP_WAIT_S: Final = 30.0  # at stop, for the clips in progress to be written
_FRAME_QUALITY: Final = 95  # the unannotated frame is training data: keep detail


@dataclass(frozen=True, slots=True)
class CameraRef:
    camera_id: str
    school_id: str


def _clip_task_name(camera_id: str) -> str:
    return f"{camera_id}:clip"


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _boxes(dets: tuple[Detection, ...]) -> list[list[Any]]:
    return [[d.cls, round(d.score, 3), *(round(v) for v in (d.x0, d.y0, d.x1, d.y1))] for d in dets]


def evidence_boxes(detail: str | None) -> list[tuple[str, Box]]:
    """The detector's evidence in an event's detail (as written above: pixels with the frame
    size), each as (class, box normalised to the picture and clipped to it); [] if none."""
    try:
        facts = json.loads(detail or "{}")
        width, height = facts["frame_size"]
        rows = [(str(b[0]), [float(v) for v in b[2:6]]) for b in facts.get("evidence", [])]
    except (ValueError, KeyError, TypeError, IndexError):
        return []
    if width <= 0 or height <= 0:
        return []
    out = []
    for cls, (x0, y0, x1, y1) in rows:
        xs = sorted(min(max(v / width, 0.0), 1.0) for v in (x0, x1))
        ys = sorted(min(max(v / height, 0.0), 1.0) for v in (y0, y1))
        out.append((cls, (xs[0], ys[0], xs[1], ys[1])))
    return out


class ViolationEvents:
    def __init__(
        self,
        db: Database,
        media: EventMedia,
        *,
        raise_event: RaiseEvent | None,
        tz: tzinfo,
        pre_roll_s: float,
        post_roll_s: float,
        snapshot_quality: int = 85,
    ) -> None:
        self._db = db
        self.media = media
        self._raise_event = raise_event
        self._tz = tz
        self.pre_roll_s = pre_roll_s
        self.post_roll_s = post_roll_s
        self._quality = snapshot_quality
        self._queue: asyncio.Queue[Job | None] = asyncio.Queue(_QUEUE_LIMIT + 1)
        self._writer: asyncio.Task[None] | None = None
        self._retry: asyncio.Task[None] | None = None
        self._clips: set[asyncio.Task[None]] = set()
        self.counts: dict[str, int] = dict.fromkeys(
            ("opened", "updated", "closed", "clips", "clip_failures", "snapshot_failures",
             "write_failures", "dropped"), 0,
        )  # fmt: skip

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self, camera_ids: list[str]) -> None:
        """Close what a previous run left open, then start writing."""
        if self._writer is not None:
            return
        try:
            await self._close_stale(camera_ids)
        except Exception:
            log.exception("detection: cannot close violation events left open by the last run")
        self._writer = asyncio.create_task(self._run(), name="detection:events")
        self._retry = asyncio.create_task(self.media.retry_forever(), name="detection:media")

    async def stop(self) -> None:
        """Finish the clips in progress (their rings have stopped: they end short), write
        what is queued, stop."""
        if self._clips:
            await asyncio.wait(set(self._clips), timeout=_STOP_WAIT_S)
        for task in list(self._clips):
            task.cancel()
        if self._retry is not None:
            self._retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retry
        if self._writer is not None:
            self._queue.put_nowait(None)
            await self._writer
        self._writer = self._retry = None

    def close_left_open(self, camera_ids: list[str]) -> None:
        """Queue what start() does first, for cameras watched later: their events a previous
        watcher left open end at their last known moment (before any new event's row)."""
        self._submit(lambda: self._close_stale(camera_ids))

    async def clips_written(self, camera_id: str) -> None:
        """Wait (as stop() does) for the camera's clips in progress to be written."""
        mine = {t for t in self._clips if t.get_name() == _clip_task_name(camera_id)}
        if mine:
            await asyncio.wait(mine, timeout=_STOP_WAIT_S)

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def _submit(self, job: Job) -> None:
        if self._queue.qsize() < _QUEUE_LIMIT:
            self._queue.put_nowait(job)
        else:
            self.counts["dropped"] += 1
            log.error("detection: event write dropped (database backlog)")

    async def _run(self) -> None:
        while (job := await self._queue.get()) is not None:
            try:
                await job()
            except Exception:
                self.counts["write_failures"] += 1
                log.exception("detection: cannot write a violation event")

    async def _close_stale(self, camera_ids: list[str]) -> None:
        if not camera_ids:
            return
        async with self._db.session() as session:
            rows = await session.scalars(
                select(Event).where(
                    Event.kind == EventKind.VIOLATION,
                    Event.ended_at.is_(None),
                    Event.camera_id.in_(camera_ids),
                )
            )
            for row in rows:
                row.ended_at = row.updated_at  # its last known moment
                log.info("detection: closed %s event %s left open", row.type, row.id)

    # -- transitions -------------------------------------------------------------------------

    def opened(
        self,
        camera: CameraRef,
        op: Opened,
        frame: npt.NDArray[np.uint8] | None,
        detections: list[Detection],
        ring: PacketRing | None,
    ) -> str:
        """Queue a new event; returns its id (updates and the end refer to it)."""
        event_id = uuid.uuid4().hex
        self._submit(lambda: self._open(event_id, camera, op, frame, detections))
        if ring is not None:
            task = asyncio.create_task(
                self._clip(event_id, camera, op, ring), name=_clip_task_name(camera.camera_id)
            )
            self._clips.add(task)
            task.add_done_callback(self._clips.discard)
        return event_id

    def updated(self, event_id: str, up: Updated) -> None:
        self._refresh(event_id, "updated", up.confidence, up.tracks, updated_at=_utc(up.at))

    def closed(self, event_id: str, cl: Closed, now: float) -> None:
        self._refresh(event_id, "closed", cl.confidence, cl.tracks, ended_at=_utc(cl.ended_at),
                      updated_at=_utc(max(now, cl.ended_at)))  # fmt: skip

    def _refresh(self, event_id: str, counter: str, confidence: float, tracks: Iterable[str],
                 **times: datetime) -> None:  # fmt: skip
        """Queue a write of an open event's times, confidence and tracks to its row."""

        async def job() -> None:
            async with self._db.session() as session:
                row = await session.get(Event, event_id)
                if row is None:
                    return
                for name, value in times.items():
                    setattr(row, name, value)
                row.confidence = round(confidence, 4)
                row.detail = self._merged(row.detail, tracks=list(tracks))
            self.counts[counter] += 1

        self._submit(job)

    @staticmethod
    def _merged(detail: str | None, **facts: Any) -> str:
        try:
            data = json.loads(detail) if detail else {}
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        data.update(facts)
        return json.dumps(data, ensure_ascii=False)

    # -- the jobs ----------------------------------------------------------------------------

    async def _open(
        self,
        event_id: str,
        camera: CameraRef,
        op: Opened,
        frame: npt.NDArray[np.uint8] | None,
        detections: list[Detection],
    ) -> None:
        started = _utc(op.started_at)
        pictures = await self._pictures(event_id, camera, op, frame, detections)
        stored: dict[str, bool] = {}
        for column, key in pictures.items():  # the snapshot first: the alert shows it
            up = all(stored.values())  # a store that just failed is not waited for twice
            stored[column] = up and await self.media.upload(key, "image/jpeg")
        size = None if frame is None else [int(frame.shape[1]), int(frame.shape[0])]
        event = Event(
            id=event_id,
            kind=EventKind.VIOLATION,
            type=str(op.vtype),
            severity="urgent" if op.vtype in PESTS else "warning",  # the type rule may change it
            camera_id=camera.camera_id,
            started_at=started,
            updated_at=_utc(op.at),
            confidence=round(op.confidence, 4),
            track_id=op.track,
            snapshot_key=pictures["snapshot_key"] if stored.get("snapshot_key") else None,
            frame_key=pictures["frame_key"] if stored.get("frame_key") else None,
            detail=json.dumps(
                {
                    "summary": f"{op.vtype} ({op.track}, {op.confidence:.2f})",
                    "tracks": [op.track],
                    "raised_at": _utc(op.at).isoformat(),
                    "evidence": _boxes(op.evidence),
                    "frame_size": size,
                },
                ensure_ascii=False,
            ),
        )
        async with self._db.session() as session:
            if self._raise_event is not None:
                await self._raise_event(session, event)
            else:  # no alerts service: the event is still recorded for the console
                session.add(event)
        self.counts["opened"] += 1
        log.info(
            "%s: %s since %s (%s, %.2f)",
            camera.camera_id, op.vtype, started.isoformat(), op.track, op.confidence,
        )  # fmt: skip
        for column, key in pictures.items():
            if not stored[column]:
                await self.media.defer(event_id, column, key, "image/jpeg")

    async def _pictures(
        self,
        event_id: str,
        camera: CameraRef,
        op: Opened,
        frame: npt.NDArray[np.uint8] | None,
        detections: list[Detection],
    ) -> dict[str, str]:
        """The annotated snapshot and the unannotated frame (a verdict keeps it as a hard
        example), saved locally: event column -> key; empty when there is no picture."""
        if frame is None:
            return {}
        title = (
            f"{op.vtype} {camera.camera_id} {_utc(op.at).astimezone(self._tz):%Y-%m-%d %H:%M:%S}"
        )
        keys = {
            "snapshot_key": self._key("snapshots", camera, op, event_id, "jpg"),
            "frame_key": self._key("frames", camera, op, event_id, "jpg"),
        }
        try:
            snapshot = await asyncio.to_thread(
                render_snapshot, frame, detections, op.evidence, title=title,
                quality=self._quality,
            )  # fmt: skip
            raw = await asyncio.to_thread(encode_frame, frame, quality=_FRAME_QUALITY)
            await asyncio.to_thread(self.media.save, keys["snapshot_key"], snapshot)
            await asyncio.to_thread(self.media.save, keys["frame_key"], raw)
        except (SnapshotError, OSError) as exc:
            self.counts["snapshot_failures"] += 1
            log.error("%s: no snapshot for %s: %s", camera.camera_id, op.vtype, exc)
            return {}
        return keys

    def _key(self, kind: str, camera: CameraRef, op: Opened, event_id: str, ext: str) -> str:
        name = f"{op.vtype}-{event_id[:8]}"
        return media_key(
            kind, camera.school_id, camera.camera_id, _utc(op.started_at), self._tz, name, ext
        )

    async def _clip(self, event_id: str, camera: CameraRef, op: Opened, ring: PacketRing) -> None:
        start, end = op.started_at - self.pre_roll_s, op.at + self.post_roll_s
        try:
            async with asyncio.timeout(self.post_roll_s + _CLIP_GRACE_S):
                clip = await ring.clip(start, end)
        except TimeoutError:
            clip = None
        if clip is None:
            self.counts["clip_failures"] += 1
            log.error(
                "%s: no video for the clip of %s event %s", camera.camera_id, op.vtype, event_id
            )
            return
        key = self._key("clips", camera, op, event_id, "mp4")
        try:
            await asyncio.to_thread(write_clip, clip, self.media.local_path(key))
        except Mp4Error as exc:
            self.counts["clip_failures"] += 1
            log.error("%s: clip of event %s not written: %s", camera.camera_id, event_id, exc)
            return
        stored = await self.media.upload(key, "video/mp4")
        span = {
            "start": _utc(clip.start).isoformat(),
            "end": _utc(clip.end).isoformat(),
            "complete": clip.complete,
        }

        async def job() -> None:
            async with self._db.session() as session:
                row = await session.get(Event, event_id)
                if row is None:
                    return
                row.detail = self._merged(row.detail, clip=span)
                if stored:
                    row.clip_key = key
            if not stored:
                await self.media.defer(event_id, "clip_key", key, "video/mp4")
            self.counts["clips"] += 1

        self._submit(job)
