"""One inference queue for all cameras: dynamic batching in a worker thread, newest wins.

Cameras submit samples (a frame plus the regions to crop) from the event loop; one worker
thread letterboxes them and runs the model on batches of up to `max_batch` views, waiting at
most `max_wait_ms` after the oldest pending sample for a batch to fill. Each camera has one
pending slot: a new sample replaces the one still waiting (that caller gets None and the drop
is counted), so a detector that falls behind skips old samples instead of piling them up.
ONNX Runtime and OpenVINO release the GIL while they run, so the event loop keeps going.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from detectors.detection import CLASS_NAMES, Detection
from detectors.runtime.backends import Backend, load_backend
from detectors.runtime.errors import EngineNotRunning, FrameError, InferenceError, ModelError
from detectors.runtime.postprocess import Candidates, decode, merge_views, to_detections
from detectors.runtime.preprocess import Frame, Region, ViewTransform, check_frame, letterbox_into

if TYPE_CHECKING:
    from hub.config.detector import DetectorConfig

__all__ = ["EngineState", "EngineStats", "InferenceEngine"]

_log = logging.getLogger(__name__)

# Batch timings kept for the percentiles in stats(): about the last minute at full load.
_TIMING_WINDOW = 1024


class EngineState(StrEnum):
    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class EngineStats:
    """A snapshot of the engine's counters (per camera id) and timings."""

    submitted: Mapping[str, int]
    completed: Mapping[str, int]
    dropped: Mapping[str, int]  # superseded by a newer sample of the same camera, or at stop
    failed: Mapping[str, int]  # bad frame or backend error
    pending: int  # samples waiting now (at most one per camera)
    batches: int
    views: int  # model inputs run (a whole frame or a crop each)
    mean_batch: float  # views per batch
    infer_ms_p50: float  # one batch through the model
    infer_ms_p95: float
    view_ms_mean: float  # model time per view


@dataclass(eq=False, slots=True)
class _Request:
    camera_id: str
    frame: Frame
    regions: tuple[Region | None, ...]  # None: the whole frame
    future: asyncio.Future[list[Detection] | None]
    loop: asyncio.AbstractEventLoop
    enqueued: float = field(default_factory=time.monotonic)

    def settle(self, result: list[Detection] | BaseException | None) -> None:
        """Resolves the caller's future from any thread (a closed loop has no caller left)."""

        def apply() -> None:
            if self.future.done():
                return
            if isinstance(result, BaseException):
                self.future.set_exception(result)
            else:
                self.future.set_result(result)

        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(apply)


class InferenceEngine:
    """The shared detector. `await start()`, then `await detect(...)` from any camera task.

    Create it with the model settings (or `from_config`); `start()` loads the model in a
    thread and raises ModelError when it is unusable. `stop()` finishes the running batch,
    answers the waiting samples with None and joins the worker.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        backend: str | Backend = "onnxruntime",
        input_size: int = 320,
        threads: int = 2,
        confidence: float = 0.4,
        iou: float = 0.5,
        max_batch: int = 8,
        max_wait_ms: float = 20,
        crop_classes: Iterable[str] = (),
        crop_only_classes: Iterable[str] = (),
    ) -> None:
        crop_classes, crop_only_classes = set(crop_classes), set(crop_only_classes)
        unknown = sorted((crop_classes | crop_only_classes) - set(CLASS_NAMES))
        if unknown:
            raise ValueError(f"crop classes {unknown} are not detector classes")
        self.model_path = model_path
        # A loaded Backend may be passed instead of a name (a seam for tests and tools).
        self._given = backend if isinstance(backend, Backend) else None
        self.backend_name = backend.name if isinstance(backend, Backend) else str(backend)
        self.input_size = input_size
        self._threads = threads
        self._confidence = confidence
        self._iou = iou
        self._max_batch = max_batch
        self._max_wait = max_wait_ms / 1000
        self._crop_ids = frozenset(CLASS_NAMES.index(c) for c in crop_classes)
        self._crop_only_ids = frozenset(CLASS_NAMES.index(c) for c in crop_only_classes)
        self._state = EngineState.NEW
        self._backend: Backend | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._pending: dict[str, _Request] = {}  # insertion order = age
        self._stopping = False
        self._counts: dict[str, Counter[str]] = {
            k: Counter() for k in ("submitted", "completed", "dropped", "failed")
        }
        self._batches = 0
        self._view_count = 0
        self._infer_s = 0.0
        self._timings: deque[float] = deque(maxlen=_TIMING_WINDOW)
        self._warned: set[tuple[str, str]] = set()

    @classmethod
    def from_config(cls, config: DetectorConfig) -> InferenceEngine:
        """An engine with the settings of the config's `detector` section."""
        return cls(
            config.model_path,
            backend=config.backend,
            input_size=config.input_size,
            threads=config.threads,
            confidence=config.confidence,
            iou=config.iou,
            max_batch=config.max_batch,
            max_wait_ms=config.max_wait_ms,
            crop_classes=config.crop_classes,
            crop_only_classes=config.crop_only_classes,
        )

    @property
    def state(self) -> EngineState:
        return self._state

    async def start(self) -> None:
        """Loads the model (in a thread) and starts the worker. Idempotent while running."""
        if self._state is EngineState.RUNNING:
            return
        if self._state is not EngineState.NEW:
            raise EngineNotRunning(f"detector engine is {self._state}; it starts once")
        self._state = EngineState.STARTING
        try:
            backend = self._given
            if backend is None:
                backend = await asyncio.to_thread(
                    load_backend, self.backend_name, self.model_path,
                    input_size=self.input_size, threads=self._threads,
                )  # fmt: skip
        except ModelError as exc:
            self._state = EngineState.NEW  # the file may be fixed and start() called again
            _log.error("detector cannot start: %s", exc)
            raise
        except BaseException:
            self._state = EngineState.NEW
            raise
        if self._state is not EngineState.STARTING:  # stop() came while the model loaded
            if self._given is None:
                backend.close()
            return
        self._backend = backend
        self._thread = threading.Thread(target=self._run, name="detector:inference", daemon=True)
        self._state = EngineState.RUNNING
        self._thread.start()

    async def stop(self) -> None:
        """Stops the worker after its current batch; waiting samples get None. Idempotent."""
        if self._state in (EngineState.STOPPING, EngineState.STOPPED):
            return
        if self._state in (EngineState.NEW, EngineState.STARTING):
            self._state = EngineState.STOPPED
            return
        self._state = EngineState.STOPPING
        with self._cond:
            self._stopping = True
            left = list(self._pending.values())
            self._pending.clear()
            for req in left:
                self._counts["dropped"][req.camera_id] += 1
            self._cond.notify_all()
        for req in left:
            req.settle(None)
        try:
            if self._thread is not None:
                await asyncio.to_thread(self._thread.join)
        finally:
            if self._backend is not None and self._given is None:
                self._backend.close()
            self._backend = None
            self._state = EngineState.STOPPED

    async def __aenter__(self) -> InferenceEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def detect(
        self,
        camera_id: str,
        frame: Frame,
        regions: Sequence[Region] = (),
        *,
        full_frame: bool = True,
    ) -> list[Detection] | None:
        """Detections in `frame` (BGR, H x W x 3 uint8), or None when superseded or dropped.

        The model sees the whole frame (when `full_frame`) and a crop per region, each one
        batch slot; detections are merged across them (see postprocess.merge_views). A newer
        sample of the same camera replaces this one while it waits: this call then returns
        None. Raises FrameError for an unusable frame or region (this camera only) and
        InferenceError when the backend fails on the batch. With no view at all (no whole
        frame, no region) it returns [] at once. The engine reads `frame` from its worker
        thread: do not write into it before this returns.
        """
        if self._state is not EngineState.RUNNING:
            raise EngineNotRunning(f"detector engine is {self._state}")
        try:
            views = self._views(frame, regions, full_frame)
        except FrameError as exc:
            self._count("failed", camera_id)
            self._warn(camera_id, "frame", "camera %s: bad frame for the detector: %s", exc)
            raise
        if not views:
            return []
        loop = asyncio.get_running_loop()
        req = _Request(camera_id, frame, views, loop.create_future(), loop)
        with self._cond:
            old = self._pending.pop(camera_id, None)
            self._pending[camera_id] = req
            self._counts["submitted"][camera_id] += 1
            if old is not None:
                self._counts["dropped"][camera_id] += 1
            self._cond.notify()
        if old is not None:
            old.settle(None)
        try:
            return await req.future
        except asyncio.CancelledError:
            with self._cond:
                if self._pending.get(camera_id) is req:
                    del self._pending[camera_id]
                    self._counts["dropped"][camera_id] += 1
            raise

    def stats(self) -> EngineStats:
        """A consistent snapshot of the counters; safe from any thread."""
        with self._cond:
            timings = np.asarray(self._timings, np.float64) * 1000
            counts = {k: dict(v) for k, v in self._counts.items()}
            batches, views, infer_s = self._batches, self._view_count, self._infer_s
            pending = len(self._pending)
        p50, p95 = np.percentile(timings, [50, 95]) if timings.size else (0.0, 0.0)
        return EngineStats(
            submitted=counts["submitted"],
            completed=counts["completed"],
            dropped=counts["dropped"],
            failed=counts["failed"],
            pending=pending,
            batches=batches,
            views=views,
            mean_batch=views / batches if batches else 0.0,
            infer_ms_p50=float(p50),
            infer_ms_p95=float(p95),
            view_ms_mean=infer_s * 1000 / views if views else 0.0,
        )

    # -- helpers on the caller's side --------------------------------------------------------

    def _views(self, frame: object, regions: Sequence[Region],
               full_frame: bool) -> tuple[Region | None, ...]:  # fmt: skip
        image = check_frame(frame)
        h, w = image.shape[:2]
        views: list[Region | None] = [None] if full_frame else []
        for region in regions:
            if not isinstance(region, Region):
                raise FrameError(f"region {region!r} is not a Region")
            inside = region.clipped(w, h)
            if inside is None or inside.width < 2 or inside.height < 2:
                raise FrameError(f"region {region} lies outside the {w}x{h} frame")
            views.append(inside)
        return tuple(views)

    def _count(self, what: str, camera_id: str, n: int = 1) -> None:
        with self._cond:
            self._counts[what][camera_id] += n

    def _warn(self, camera_id: str, kind: str, msg: str, *args: object,
              exc_info: BaseException | None = None) -> None:  # fmt: skip
        """The first problem of a kind per camera at WARNING, its repeats at DEBUG."""
        key = (camera_id, kind)
        first = key not in self._warned
        self._warned.add(key)
        level = logging.WARNING if first else logging.DEBUG
        _log.log(level, msg, camera_id, *args, exc_info=exc_info)

    # -- the worker thread -------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                # The batch waits for company at most max_wait after its oldest sample came.
                deadline = next(iter(self._pending.values())).enqueued + self._max_wait
                while not self._stopping and self._pending_views() < self._max_batch:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                if self._stopping:
                    return
                batch = self._take()
            try:
                self._process(batch)
            except Exception as exc:  # the worker outlives any bug: fail the batch, go on
                _log.exception("detector worker failed on a batch")
                for req in batch:
                    self._fail(req, InferenceError(f"detector worker failed: {exc}"))

    def _pending_views(self) -> int:
        return sum(len(r.regions) for r in self._pending.values())

    def _take(self) -> list[_Request]:
        """Oldest samples first, as many as fit in one batch (always at least one)."""
        taken: list[_Request] = []
        slots = 0
        for camera_id, req in list(self._pending.items()):
            if taken and slots + len(req.regions) > self._max_batch:
                break
            taken.append(req)
            slots += len(req.regions)
            del self._pending[camera_id]
        return taken

    def _process(self, requests: list[_Request]) -> None:
        assert self._backend is not None
        size = self.input_size
        slots = max(self._max_batch, sum(len(r.regions) for r in requests))
        batch = np.empty((slots, 3, size, size), np.float32)
        placed: list[tuple[_Request, list[ViewTransform], int]] = []
        n = 0
        for req in requests:
            try:
                transforms = [letterbox_into(req.frame, reg, size, batch[n + k])
                              for k, reg in enumerate(req.regions)]  # fmt: skip
            except Exception as exc:  # cv2 on a frame that passed the checks: this sample only
                self._fail(req, FrameError(f"camera {req.camera_id}: cannot prepare frame: {exc}"))
                continue
            placed.append((req, transforms, n))
            n += len(transforms)
        if not n:
            return
        try:
            outputs = []
            for start in range(0, n, self._max_batch):  # one sample may hold more views
                t0 = time.perf_counter()
                outputs.append(self._backend.infer(batch[start : min(n, start + self._max_batch)]))
                elapsed = time.perf_counter() - t0
                with self._cond:
                    self._batches += 1
                    self._view_count += min(n, start + self._max_batch) - start
                    self._infer_s += elapsed
                    self._timings.append(elapsed)
            raw = np.concatenate(outputs)
        except Exception as exc:  # any backend failure fails this batch, not the engine
            for req, _, _ in placed:
                self._fail(req, InferenceError(f"detector backend failed: {exc}"), exc)
            return
        for req, transforms, first in placed:
            try:
                result = self._detections(req, transforms, raw[first : first + len(transforms)])
            except Exception as exc:  # a postprocessing bug must not kill the worker
                self._fail(req, InferenceError(f"postprocessing failed: {exc}"), exc)
                continue
            self._count("completed", req.camera_id)
            req.settle(result)

    def _detections(self, req: _Request, transforms: list[ViewTransform],
                    raw: np.ndarray[Any, np.dtype[np.float32]]) -> list[Detection]:  # fmt: skip
        views: list[tuple[Candidates, Region | None]] = []
        for k, (region, transform) in enumerate(zip(req.regions, transforms, strict=True)):
            cands = decode(raw[k], transform, confidence=self._confidence, iou=self._iou)
            views.append((cands, region))
        merged = merge_views(
            views, crop_classes=self._crop_ids, iou=self._iou, crop_only=self._crop_only_ids
        )
        return to_detections(merged)

    def _fail(self, req: _Request, error: Exception, cause: BaseException | None = None) -> None:
        self._count("failed", req.camera_id)
        if cause is not None:
            error.__cause__ = cause
        self._warn(req.camera_id, type(error).__name__, "camera %s: %s", error, exc_info=cause)
        req.settle(error)
