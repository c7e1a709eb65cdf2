"""The torch-free runtime detector: one batched inference engine shared by all cameras.

Usage (one engine per hub, one motion gate per camera)::

    engine = InferenceEngine.from_config(config.detector)
    await engine.start()                      # loads the model; ModelError if unusable
    gate = MotionGate.from_config(camera_id, config.detector)   # one per camera
    ...
    motion = gate.update(frame_bgr, time.monotonic())   # ~1.3 ms at 720p: not on the loop
    # or, cheaper, on a small grey copy: gate.update(grey, t, full_size=(width, height))
    if motion.run:
        found = await engine.detect(camera_id, frame_bgr, motion.regions, full_frame=True)
        if found is None:
            ...                               # superseded by a newer sample: nothing to do
    ...
    await engine.stop()

`detect` returns `Detection`s in full-frame pixels. The whole frame gives the large classes
and square crops around motion give the small ones (`crop_classes`); errors are one tree
rooted at `DetectorError` (see `detectors.runtime.errors`).
"""

from detectors.detection import Detection
from detectors.runtime.backends import BACKENDS, Backend, load_backend
from detectors.runtime.engine import EngineState, EngineStats, InferenceEngine
from detectors.runtime.errors import (
    DetectorError,
    EngineNotRunning,
    FrameError,
    InferenceError,
    ModelError,
)
from detectors.runtime.motion import MotionGate, MotionResult
from detectors.runtime.preprocess import Region

__all__ = [
    "BACKENDS",
    "Backend",
    "Detection",
    "DetectorError",
    "EngineNotRunning",
    "EngineState",
    "EngineStats",
    "FrameError",
    "InferenceEngine",
    "InferenceError",
    "ModelError",
    "MotionGate",
    "MotionResult",
    "Region",
    "load_backend",
]
