"""One camera's detection loop: sampled frame -> motion gate -> detector -> rules -> events.

The loop takes the newest sample from the sampler (older ones are dropped and counted), asks the
motion gate whether its grey thumbnail changed (the gate also asks for a whole check every
`recheck_s`), and only then converts the full-resolution picture and runs the detector. Where
nothing moved, what was there is still there: a skipped sample repeats the last detections, and
the heads, faces and hands found in earlier crops stay where no crop looked now (pests must be
found again). A bad frame, a picture that changes size or a detector failure is logged for this
camera and costs this sample only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from detectors.detection import Detection
from detectors.runtime import DetectorError, EngineNotRunning, MotionGate, MotionResult, Region
from hub.config.detection import Zone
from hub.sampling import FrameMailbox, SampledFrame

from .events import CameraRef, ViolationEvents
from .evidence import PEST_TYPE
from .geometry import box_of, iou
from .hours import HygieneHours
from .judge import CameraJudge
from .pace import SamplePace
from .ring import PacketRing
from .rules import Closed, Opened, Transition, Updated

__all__ = ["CameraCounters", "CameraDetector", "Detector"]

log = logging.getLogger(__name__)

Frame = npt.NDArray[np.uint8]
# Small objects carried from earlier crops expire after this many recheck periods, so a
# stale one cannot live on while the rest of the picture keeps moving.
_CARRY_RECHECKS: Final = 3
_SAME_IOU: Final = 0.3  # a carried box overlapping a new one of the same part this much is it


def _part(det: Detection) -> str:
    """head_bare and head_chef_hat are one head, seen two ways."""
    return det.cls.split("_", 1)[0]


class Detector(Protocol):
    """The inference engine as the loop uses it (detectors.runtime.InferenceEngine)."""

    async def detect(
        self, camera_id: str, frame: Frame, regions: tuple[Region, ...] = (), *, full_frame: bool
    ) -> list[Detection] | None: ...


@dataclass(slots=True)
class CameraCounters:
    frames: int = 0  # samples judged
    inferred: int = 0  # samples the detector ran on
    still: int = 0  # samples skipped by the motion gate
    superseded: int = 0  # samples the engine replaced with a newer one
    late: int = 0  # frames dropped because a newer one was waiting
    errors: int = 0  # bad frames and detector failures
    resolution_changes: int = 0
    events: int = 0
    last_error: str | None = None
    size: tuple[int, int] | None = None
    last_frame_at: float | None = None


@dataclass(slots=True)
class _Known:
    """The last detections, with when each was last confirmed."""

    seen: list[tuple[Detection, float]] = field(default_factory=list)

    def merged(
        self, found: list[Detection], regions: tuple[Region, ...], crop_classes: frozenset[str],
        at: float, max_age: float,
    ) -> list[Detection]:  # fmt: skip
        """`found` plus earlier parts no crop looked at now (the whole frame alone
        cannot tell a gloved hand from a bare one, so a sample without crops keeps them too)."""
        carried: list[tuple[Detection, float]] = []
        for det, when in self.seen:
            cx, cy = det.center
            looked = any(r.x0 <= cx < r.x1 and r.y0 <= cy < r.y1 for r in regions)
            again = any(
                _part(f) == _part(det) and iou(box_of(f), box_of(det)) > _SAME_IOU for f in found
            )  # found anew, a little moved: the old box must not double it
            # Parts stay with their (slow) worker; a pest not found again has run off, and
            # carrying it would hold its camera's pest event open past the next visit.
            carry = det.cls in crop_classes and det.cls not in PEST_TYPE
            if carry and not (looked or again) and at - when <= max_age:
                carried.append((det, when))
        self.seen = [(d, at) for d in found] + carried
        return [d for d, _ in self.seen]

    def detections(self) -> list[Detection]:
        return [d for d, _ in self.seen]


class CameraDetector:
    def __init__(
        self,
        camera: CameraRef,
        *,
        mailbox: FrameMailbox,
        gate: MotionGate,
        detector: Detector,
        judge: CameraJudge,
        hours: HygieneHours,
        events: ViolationEvents,
        ring: PacketRing | None,
        crop_classes: frozenset[str],
        recheck_s: float,
        clock: Callable[[], float],
        pace: SamplePace | None = None,
    ) -> None:
        self.camera = camera
        self.pace = pace
        self.counters = CameraCounters()
        self._mailbox = mailbox
        self._gate = gate
        self._detector = detector
        self._judge = judge
        self._hours = hours
        self._events = events
        self.ring = ring
        self._crop_classes = crop_classes
        self._carry_age = recheck_s * _CARRY_RECHECKS
        self._idle_s = recheck_s
        self._clock = clock
        self._known = _Known()
        self._event_ids: dict[str, str] = {}  # the rules' violation key -> event id
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._warned: set[str] = set()

    @property
    def open_events(self) -> int:
        return len(self._event_ids)

    @property
    def overflowed(self) -> int:
        """Frames the full mailbox pushed out before this loop could read them."""
        return self._mailbox.dropped

    def suppress(self, zones: Iterable[Zone]) -> None:
        """Apply accepted suppression zones from the next sample on."""
        self._judge.suppress(zones)

    def start(self) -> None:
        if self._task is not None:
            return
        loop = asyncio.get_running_loop()

        def wake() -> None:  # from the sampler thread
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self._wake.set)

        self._mailbox.notify = wake
        if self.ring is not None:
            self.ring.start()
        self._task = asyncio.create_task(self._run(), name=f"{self.camera.camera_id}:detection")

    async def stop(self) -> None:
        """Stop judging; violations still open end at their last sighting."""
        task, self._task = self._task, None
        self._mailbox.notify = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._apply(list(self._judge.close_all()), None, [])
        if self.ring is not None:
            await asyncio.to_thread(self.ring.stop)

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._idle_s):
                    await self._wake.wait()
            except TimeoutError:
                # No pictures (the camera is offline): violations still end after their
                # cooldown, at their last sighting, rather than stay open until it is back.
                self._apply(list(self._judge.idle(self._clock())), None, [])
                continue
            self._wake.clear()
            frames = self._mailbox.drain()
            if not frames:
                continue
            self.counters.late += len(frames) - 1
            try:
                await self.process(frames[-1])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never lose the camera's loop over one sample
                self._error("unexpected", f"sample failed: {exc!r}", exc_info=True)

    async def process(self, frame: SampledFrame) -> list[Transition]:
        """Judge one sample; returns the transitions it caused (events are queued)."""
        grey, (width, height) = frame.gray, frame.source_size
        if frame.picture is None or grey.ndim != 2 or min(*grey.shape, width, height) < 2:
            has = "a" if frame.picture is not None else "no"
            self._error("frame", f"unusable frame ({width}x{height}, thumbnail {grey.shape}, "
                                 f"{has} picture); sample skipped")  # fmt: skip
            return []
        size = (width, height)
        self._check_size(size, frame.wall_time)
        image: Frame | None = None
        try:
            motion, image = await asyncio.to_thread(self._look, frame)
            if image is not None:
                found = await self._detector.detect(
                    self.camera.camera_id, image, motion.regions, full_frame=True
                )
                if found is None:  # a newer sample of this camera replaced it
                    self.counters.superseded += 1
                    return []
                self.counters.inferred += 1
                dets = self._known.merged(
                    found, motion.regions, self._crop_classes, frame.wall_time, self._carry_age
                )
            else:
                self.counters.still += 1
                dets = self._known.detections()
        except EngineNotRunning:
            return []  # the hub is stopping
        except DetectorError as exc:
            self._error(type(exc).__name__, f"detector failed on this sample: {exc}")
            return []
        self.counters.frames += 1
        self.counters.last_frame_at = frame.wall_time
        hygiene = self._hours.open_at(datetime.fromtimestamp(frame.wall_time, UTC))
        transitions = self._judge.sample(frame.wall_time, dets, size, hygiene_on=hygiene)
        if self.pace is not None:
            self.pace.observe(frame.wall_time, busy=motion.changed or bool(dets))
        if image is None and any(isinstance(t, Opened) for t in transitions):
            image = await asyncio.to_thread(frame.full_bgr)  # the new event's snapshot
        self._apply(transitions, image, dets)
        return transitions

    def _look(self, frame: SampledFrame) -> tuple[MotionResult, Frame | None]:
        """The gate's verdict on the sample's grey thumbnail, and the full BGR picture only
        when the detector is to run (most samples of a still kitchen stop at the gate)."""
        motion = self._gate.update(frame.gray, frame.wall_time, full_size=frame.source_size)
        return motion, frame.full_bgr() if motion.run else None

    def _check_size(self, size: tuple[int, int], at: float) -> None:
        """A camera whose picture changes size mid-stream: say so, and start tracking afresh."""
        old = self.counters.size
        self.counters.size = size
        if old is None or old == size:
            return
        self.counters.resolution_changes += 1
        self._error(
            f"size{size}",
            f"resolution changed mid-stream from {old[0]}x{old[1]} to {size[0]}x{size[1]}; "
            "tracks restarted",
        )
        self._judge.picture_changed()
        self._known = _Known()
        if self.ring is not None:
            self.ring.cut_before(at)  # a clip cannot mix the two

    def _apply(
        self, transitions: list[Transition], image: Frame | None, dets: list[Detection]
    ) -> None:
        now = self._clock()
        for t in transitions:
            if isinstance(t, Opened):
                self.counters.events += 1
                ring = self.ring if image is not None else None
                self._event_ids[t.key] = self._events.opened(self.camera, t, image, dets, ring)
            elif isinstance(t, Updated):
                if t.key in self._event_ids:
                    self._events.updated(self._event_ids[t.key], t)
            elif isinstance(t, Closed):
                event_id = self._event_ids.pop(t.key, None)
                if event_id is not None:
                    self._events.closed(event_id, t, now)

    def _error(self, kind: str, message: str, *, exc_info: bool = False) -> None:
        """Each kind of problem at ERROR the first time for this camera, then at DEBUG."""
        self.counters.errors += 1
        self.counters.last_error = message
        level = logging.DEBUG if kind in self._warned else logging.ERROR
        self._warned.add(kind)
        log.log(level, "%s: %s", self.camera.camera_id, message, exc_info=exc_info)
