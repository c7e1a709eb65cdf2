"""The shared detector: one batched inference queue for all cameras."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field

from ._base import Section

__all__ = ["DetectorBackend", "DetectorConfig"]


class DetectorBackend(StrEnum):
    ONNXRUNTIME = "onnxruntime"  # the torch-free default
    OPENVINO = "openvino"  # Intel CPUs/iGPUs
    ULTRALYTICS = "ultralytics"  # GPU hosts only; pulls in torch


class DetectorConfig(Section):
    """Model, sampling and batching settings for violation detection."""

    enabled: bool = Field(default=False, description="Run detection on sampled keyframes.")
    backend: DetectorBackend = Field(
        default=DetectorBackend.ONNXRUNTIME, description="onnxruntime, openvino or ultralytics."
    )
    model_path: Path = Field(
        default=Path("detectors/models/bkhub-yolo11n.onnx"),
        description="Model file; a relative path is taken from the config file's folder.",
    )
    input_size: int = Field(
        default=320, ge=160, le=1280, multiple_of=32, description="Square model input in pixels."
    )
    sample_interval_s: float = Field(
        default=1.0, ge=0.1, le=60, description="Seconds between sampled frames per camera."
    )
    confidence: float = Field(default=0.4, ge=0, le=1, description="Minimum detection score.")
    max_batch: int = Field(default=8, ge=1, le=64, description="Frames per inference batch.")
    max_wait_ms: int = Field(
        default=20, ge=0, le=1000, description="How long a batch waits to fill before running."
    )
