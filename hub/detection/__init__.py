"""Violation detection on the hub side: sampled frames -> detector -> tracks and rules ->
violation events with an annotated snapshot and a pre/post-roll clip.

    detection = DetectionService(config, db, store, raise_event=..., spool_dir=...)
    detection.watch(camera, school_id, sampler, fanout); await detection.start()

    judge = CameraJudge(settings)             # pure: tracker + evidence + k-of-n rules
    transitions = judge.sample(at, detections, (width, height), hygiene_on=True)
"""

from .judge import CameraJudge, JudgeSettings
from .rules import Closed, Opened, Transition, Updated
from .service import DetectionService, DetectionState
from .tracker import Track, Tracker

__all__ = [
    "CameraJudge",
    "Closed",
    "DetectionService",
    "DetectionState",
    "JudgeSettings",
    "Opened",
    "Track",
    "Tracker",
    "Transition",
    "Updated",
]
