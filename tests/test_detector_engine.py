"""The shared inference engine with the real model and real threads."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from detectors.runtime import (
    Backend,
    Detection,
    EngineNotRunning,
    EngineState,
    FrameError,
    InferenceEngine,
    InferenceError,
    ModelError,
    Region,
    load_backend,
)
from detectors.scenes import render_scene
from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[1]
MODEL = Path(os.environ.get("BKHUB_TEST_MODEL", REPO / "detectors/models/bkhub-yolo11n.onnx"))
CROPS = ("face_mask", "face_bare", "hand_gloved", "hand_bare", "rat", "cockroach")

Frame = npt.NDArray[np.uint8]
Factory = Callable[..., Coroutine[Any, Any, InferenceEngine]]


@pytest.fixture(scope="module")
def real_backend() -> Backend:
    if not MODEL.is_file():
        pytest.skip(f"no detector model at {MODEL} (bkhub train exports it there)")
    return load_backend("onnxruntime", MODEL, threads=2)


@pytest.fixture(scope="module")
def frames() -> list[Frame]:
    return [render_scene(1_000_000 + i, size=1280).image for i in range(4)]


class _Wrapped(Backend):
    """The real model behind our own seam, made slow or failing on demand."""

    name = "wrapped"

    def __init__(self, inner: Backend, *, delay: float = 0.0) -> None:
        super().__init__(inner.path, inner.input_size)
        self.inner = inner
        self.delay = delay
        self.fail_next = False
        self.batch_sizes: list[int] = []

    def infer(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        self.batch_sizes.append(len(batch))
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("device lost")
        time.sleep(self.delay)
        return self.inner.infer(batch)


@pytest.fixture
async def make_engine(no_lingering_tasks: None, real_backend: Backend) -> AsyncIterator[Factory]:
    started: list[InferenceEngine] = []

    async def make(backend: Backend | None = None, **options: Any) -> InferenceEngine:
        options.setdefault("crop_classes", CROPS)
        engine = InferenceEngine(MODEL, backend=backend or real_backend, **options)
        await engine.start()
        started.append(engine)
        return engine

    yield make
    for engine in started:
        await engine.stop()


async def test_many_cameras_at_once_are_batched(
    make_engine: Factory, real_backend: Backend, frames: list[Frame]
) -> None:
    wrapped = _Wrapped(real_backend)
    engine = await make_engine(wrapped, max_batch=8, max_wait_ms=300)
    results = await asyncio.gather(*(engine.detect(f"cam-{i}", frames[i % 4]) for i in range(8)))
    assert all(isinstance(r, list) for r in results)
    stats = engine.stats()
    assert stats.mean_batch > 1 and max(wrapped.batch_sizes) == 8
    assert stats.completed == {f"cam-{i}": 1 for i in range(8)} and not stats.dropped
    assert stats.infer_ms_p95 >= stats.infer_ms_p50 > 0


async def test_batched_results_belong_to_their_own_camera(
    make_engine: Factory, frames: list[Frame]
) -> None:
    """A sample's views map back to its own frame however the batch was packed."""
    regions = [[], [Region(600, 300, 920, 620)], [Region(0, 0, 320, 320), Region(900, 400,
               1280, 720)], []]  # fmt: skip
    alone = await make_engine(max_batch=1, max_wait_ms=0, confidence=0.1)
    expected = [await alone.detect("solo", frames[i], regions[i]) for i in range(4)]
    batched = await make_engine(max_batch=8, max_wait_ms=300, confidence=0.1)
    got = await asyncio.gather(*(batched.detect(f"c{i}", frames[i], regions[i]) for i in range(4)))
    assert batched.stats().batches == 1
    assert sum(len(e or []) for e in expected) > 0
    for want, have in zip(expected, got, strict=True):
        assert want is not None and have is not None
        _same(want, have, 0.1)
        _same(have, want, 0.1)


def _same(a: list[Detection], b: list[Detection], confidence: float) -> None:
    """Each detection of `a` is in `b` too (batch size may move a score by ~1e-5)."""
    for d in a:
        twin = [e for e in b if e.cls == d.cls and abs(e.score - d.score) < 1e-3
                and max(abs(e.x0 - d.x0), abs(e.y0 - d.y0), abs(e.x1 - d.x1),
                        abs(e.y1 - d.y1)) < 1.0]  # fmt: skip
        assert twin or d.score - confidence < 1e-3, f"{d} not in {b}"


async def test_a_slow_detector_drops_older_samples_and_counts_them(
    make_engine: Factory, real_backend: Backend, frames: list[Frame]
) -> None:
    wrapped = _Wrapped(real_backend, delay=0.15)
    engine = await make_engine(wrapped, max_batch=4, max_wait_ms=0)
    tasks: list[asyncio.Task[Any]] = []
    most_pending = 0
    for k in range(20):  # three cameras at 25 Hz against ~6 batches a second
        for cam in ("a", "b", "c"):
            tasks.append(asyncio.create_task(engine.detect(cam, frames[k % 4])))
        await asyncio.sleep(0.04)
        most_pending = max(most_pending, engine.stats().pending)
    results = await asyncio.gather(*tasks)
    stats = engine.stats()
    assert most_pending <= 3  # one waiting sample per camera, never a queue
    for cam in ("a", "b", "c"):
        assert stats.submitted[cam] == 20
        # A batch holds at most one sample per camera: whatever more arrived was dropped.
        assert 0 < stats.completed[cam] <= len(wrapped.batch_sizes) < 20
        assert stats.completed[cam] + stats.dropped[cam] == 20
    assert sum(r is None for r in results) == sum(stats.dropped.values())
    assert results[-1] is not None  # the newest sample of each camera is always answered


async def test_a_bad_frame_fails_only_its_own_request(
    make_engine: Factory, frames: list[Frame], caplog: pytest.LogCaptureFixture
) -> None:
    engine = await make_engine(max_batch=8, max_wait_ms=100)
    with caplog.at_level(logging.WARNING):
        results = await asyncio.gather(
            engine.detect("broken", np.zeros((0, 0, 3), np.uint8)),
            engine.detect("fine", frames[0]),
            engine.detect("off", frames[1], [Region(2000, 2000, 2320, 2320)]),
            engine.detect("float", frames[2].astype(np.float32)),
            engine.detect("fine-too", frames[3], [Region(0, 0, 320, 320)]),
            return_exceptions=True,
        )
    assert isinstance(results[0], FrameError) and "empty" in str(results[0])
    assert isinstance(results[2], FrameError) and "outside the 1280x720 frame" in str(results[2])
    assert isinstance(results[3], FrameError) and "dtype float32" in str(results[3])
    assert isinstance(results[1], list) and isinstance(results[4], list)
    assert "camera broken: bad frame for the detector: frame is 0x0 pixels" in caplog.text
    stats = engine.stats()
    assert stats.failed == {"broken": 1, "off": 1, "float": 1}
    assert stats.completed == {"fine": 1, "fine-too": 1}


async def test_a_backend_failure_fails_the_batch_not_the_engine(
    make_engine: Factory, real_backend: Backend, frames: list[Frame]
) -> None:
    wrapped = _Wrapped(real_backend)
    engine = await make_engine(wrapped, max_wait_ms=0)
    wrapped.fail_next = True
    with pytest.raises(InferenceError, match="device lost"):
        await engine.detect("a", frames[0])
    assert isinstance(await engine.detect("a", frames[0]), list)
    assert engine.stats().failed == {"a": 1}


class _Watched(_Wrapped):
    """Notes, for every batch, whether the event loop ticked while the model ran it."""

    def __init__(self, inner: Backend, ticks: list[int]) -> None:
        super().__init__(inner, delay=0.2)
        self.ticks = ticks
        self.ticked_during: list[bool] = []

    def infer(self, batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        before = self.ticks[0]
        out = super().infer(batch)
        self.ticked_during.append(self.ticks[0] > before)
        return out


async def test_the_event_loop_keeps_ticking_during_inference(
    make_engine: Factory, real_backend: Backend, frames: list[Frame]
) -> None:
    ticks = [0]
    watched = _Watched(real_backend, ticks)
    engine = await make_engine(watched, max_batch=8, max_wait_ms=20)
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            await asyncio.sleep(0.005)
            ticks[0] += 1

    tick = asyncio.create_task(ticker(), name="test:ticker")
    crops = [Region(0, 0, 320, 320), Region(640, 200, 1040, 600)]
    for _ in range(3):
        await asyncio.gather(*(engine.detect(f"cam-{i}", frames[i], crops) for i in range(4)))
    done.set()
    await tick
    assert engine.stats().views == 36
    # Inference on the loop's own thread would let no tick through while a batch runs.
    assert len(watched.ticked_during) >= 3 and all(watched.ticked_during), watched.ticked_during


async def test_lifecycle(
    make_engine: Factory, real_backend: Backend, frames: list[Frame], tmp_path: Path
) -> None:
    never = InferenceEngine(tmp_path / "missing.onnx")
    with pytest.raises(EngineNotRunning):
        await never.detect("a", frames[0])
    with pytest.raises(ModelError, match=r"missing\.onnx: model file not found"):
        await never.start()
    assert never.state is EngineState.NEW  # a fixed file can be loaded by a later start()
    slow = _Wrapped(real_backend, delay=1.0)  # long enough to queue two more behind it
    engine = await make_engine(slow, max_wait_ms=0)
    await engine.start()  # idempotent
    first = asyncio.create_task(engine.detect("a", frames[0]))
    await eventually(lambda: bool(slow.batch_sizes), within=30, what="the first in the model")
    waiting = asyncio.create_task(engine.detect("b", frames[1]))
    await asyncio.sleep(0.01)
    cancelled = asyncio.create_task(engine.detect("c", frames[2]))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    await asyncio.sleep(0)
    await engine.stop()
    assert isinstance(await first, list)  # the running batch finishes
    assert await waiting is None  # the waiting one is answered, not left hanging
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert engine.state is EngineState.STOPPED
    assert engine.stats().dropped == {"b": 1, "c": 1}
    with pytest.raises(EngineNotRunning):
        await engine.detect("a", frames[0])
    await engine.stop()  # idempotent
