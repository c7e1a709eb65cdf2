"""The runtime detector's exceptions, one tree.

DetectorError            anything the runtime detector raises on purpose
├── ModelError           fatal, at start-up: the model file is missing, corrupt, or not
│                        the model the hub expects (class map, input size, output shape)
├── FrameError           this sample only: an empty, zero-sized or malformed frame or region
├── InferenceError       this batch only: the backend failed while running (retriable)
└── EngineNotRunning     detect() before start() or after stop()
"""

from __future__ import annotations

__all__ = ["DetectorError", "EngineNotRunning", "FrameError", "InferenceError", "ModelError"]


class DetectorError(Exception):
    """Base of every error the runtime detector raises on purpose."""


class ModelError(DetectorError):
    """The model cannot be used; the message names the file and what is wrong with it."""


class FrameError(DetectorError, ValueError):
    """A frame or region given to the detector is unusable; only that request fails."""


class InferenceError(DetectorError):
    """The backend failed on a batch; the requests in it fail, the engine keeps running."""


class EngineNotRunning(DetectorError):
    """The engine was not started, or has been stopped."""
