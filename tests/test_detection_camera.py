"""One camera's loop with the real motion gate and rules, the detector replaced at its seam:
inference is skipped while nothing moves (the last detections stand), runs at least every
recheck_s, and a still worker without a hat stays one event."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from detectors.detection import Detection
from detectors.runtime import MotionGate, Region
from hub.config import HubConfig
from hub.config.detection import ViolationType
from hub.detection.camera import CameraDetector
from hub.detection.events import CameraRef
from hub.detection.judge import CameraJudge, JudgeSettings
from hub.detection.rules import Closed, Opened, Updated
from hub.sampling import FrameMailbox, SampledFrame
from tests.configdata import district

START = 1_800_000_000.0
WORKER = [
    Detection("person", 0.9, 500, 200, 620, 560),
    Detection("head_bare", 0.8, 535, 205, 585, 260),
]
FACE = Detection("face_bare", 0.7, 1000, 300, 1030, 330)  # a crop class, far from the motion


@dataclass
class FakeDetector:
    """Answers every sample with `answer`; remembers what it was asked."""

    answer: list[Detection]
    calls: list[tuple[int, bool]] = field(default_factory=list)

    async def detect(
        self, camera_id: str, frame: npt.NDArray[np.uint8], regions: Sequence[Region] = (),
        *, full_frame: bool,
    ) -> list[Detection] | None:  # fmt: skip
        self.calls.append((len(regions), full_frame))
        return list(self.answer)


@dataclass
class Recorder:
    """The events seam: what the loop queued."""

    log: list[Any] = field(default_factory=list)

    def opened(self, camera: CameraRef, op: Opened, *_: Any) -> str:
        self.log.append(op)
        return f"e{len(self.log)}"

    def updated(self, event_id: str, up: Updated) -> None:
        self.log.append(up)

    def closed(self, event_id: str, cl: Closed, now: float) -> None:
        self.log.append(cl)


class Always:
    def open_at(self, at: object) -> bool:
        return True


def loop(detector: FakeDetector, recorder: Recorder) -> CameraDetector:
    cfg = HubConfig.model_validate(district())
    det = cfg.detection
    judge = CameraJudge(
        JudgeSettings(
            rules=frozenset(ViolationType), zones=(), persistence=det.persistence,
            min_score=lambda _t: 0.4, cooldown_s=det.cooldown_s, update_every_s=10,
            track_max_age_s=det.track_max_age_s,
        )
    )  # fmt: skip
    return CameraDetector(
        CameraRef("cam", "s"),
        mailbox=FrameMailbox("cam:detector"),
        gate=MotionGate("cam", recheck_s=10.0),
        detector=detector,
        judge=judge,
        hours=Always(),  # type: ignore[arg-type]
        events=recorder,  # type: ignore[arg-type]
        ring=None,
        crop_classes=frozenset({"face_bare", "head_bare", "head_chef_hat"}),
        recheck_s=10.0,
        clock=time.time,
    )


def frame(at: float, image: npt.NDArray[np.uint8]) -> SampledFrame:
    return SampledFrame("cam", at, image[::4, ::4, 0], image[::8, ::8], (1280, 720), picture=image)


async def test_still_picture_skips_inference_but_keeps_the_violation() -> None:
    rng = np.random.default_rng(1)
    room = rng.integers(60, 200, (720, 1280, 3), dtype=np.uint8)
    detector, recorder = FakeDetector(WORKER), Recorder()
    cam = loop(detector, recorder)
    for i in range(60):  # a minute of the same picture: a worker standing still, no hat
        await cam.process(frame(START + i, room))
    assert len(detector.calls) == 6  # the first sample, then a whole check every 10 s
    assert cam.counters.still == 54 and cam.counters.inferred == 6
    opened = [e for e in recorder.log if isinstance(e, Opened)]
    assert len(opened) == 1 and opened[0].started_at == START
    assert not [e for e in recorder.log if isinstance(e, Closed)]
    assert cam.open_events == 1


async def test_small_objects_stay_where_no_crop_looked() -> None:
    room = np.full((720, 1280, 3), 120, np.uint8)
    detector, recorder = FakeDetector([*WORKER, FACE]), Recorder()
    cam = loop(detector, recorder)
    await cam.process(frame(START, room))  # whole frame: the face is found
    moved = room.copy()
    moved[200:560, 480:640] = 30  # the worker moves: a crop there, none at the face
    detector.answer = list(WORKER)  # crops only see what is in them
    await cam.process(frame(START + 1, moved))
    assert detector.calls[-1][0] >= 1  # it ran with a crop
    assert FACE in cam._known.detections()  # carried: nothing moved where it is
    # A picture of another size: tracks restart and the loop says so, once.
    small = np.full((360, 640, 3), 120, np.uint8)
    image = frame(START + 2, small)
    await cam.process(
        SampledFrame("cam", START + 2, image.gray, image.color, (640, 360), picture=small)
    )
    assert cam.counters.resolution_changes == 1 and cam.counters.size == (640, 360)
    assert cam.counters.last_error and "1280x720 to 640x360" in cam.counters.last_error
