"""The shared detector: one batched inference queue for all cameras."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ._base import Section

__all__ = ["DetectorBackend", "DetectorClass", "DetectorConfig"]


class DetectorBackend(StrEnum):
    ONNXRUNTIME = "onnxruntime"  # the torch-free default
    OPENVINO = "openvino"  # Intel CPUs/iGPUs
    ULTRALYTICS = "ultralytics"  # GPU hosts only; pulls in torch


# The model's classes (detectors.scenes.labels.CLASS_NAMES; a test keeps the two equal).
DetectorClass = Literal[
    "person",
    "head_chef_hat",
    "head_bare",
    "face_mask",
    "face_bare",
    "hand_gloved",
    "hand_bare",
    "rat",
    "cockroach",
]

# bench/crops.py, 150 held-out 1280x720 scenes, recall at IoU 0.5, whole frame shrunk to
# 320 px -> square crops (>= 320 native px) around what moves (2nd training checkpoint):
# head_chef_hat 0.71 -> 0.96, head_bare 0.68 -> 0.89, face_mask 0.13 -> 0.81, face_bare
# 0.24 -> 0.79, hand_gloved 0.07 -> 0.47, hand_bare 0.01 -> 0.34, cockroach 0.10 -> 0.19.
# Person stays on the whole frame: 0.85 -> 0.91 but precision 0.98 -> 0.87, as motion crops
# cut bodies. Rat (0 both ways at that checkpoint) is small at 320 px like the others.
DEFAULT_CROP_CLASSES: tuple[DetectorClass, ...] = (
    "head_chef_hat",
    "head_bare",
    "face_mask",
    "face_bare",
    "hand_gloved",
    "hand_bare",
    "rat",
    "cockroach",
)


DEFAULT_CROP_ONLY_CLASSES: tuple[DetectorClass, ...] = (
    "face_mask",
    "face_bare",
    "hand_gloved",
    "hand_bare",
    "cockroach",
)


class DetectorConfig(Section):
    """Model, sampling, motion gate and batching settings for violation detection."""

    enabled: bool = Field(default=False, description="Run detection on sampled keyframes.")
    backend: DetectorBackend = Field(
        default=DetectorBackend.ONNXRUNTIME, description="onnxruntime, openvino or ultralytics."
    )
    model_path: Path = Field(
        default=Path("detectors/models/bkhub-yolo11n.int8.onnx"),
        description="Model file; a relative path is taken from the config file's folder.",
    )
    input_size: int = Field(
        default=320, ge=160, le=1280, multiple_of=32, description="Square model input in pixels."
    )
    threads: int = Field(
        default=2, ge=1, le=64, description="CPU threads one inference may use (intra-op)."
    )
    sample_interval_s: float = Field(
        default=1.0, ge=0.1, le=60, description="Seconds between sampled frames per camera."
    )
    # Adaptive sampling (hub/detection/pace.py): a still kitchen costs half the decodes.
    idle_sample_interval_s: float = Field(
        default=2.0, ge=0.1, le=60,
        description="Seconds between samples of a camera that has been still for idle_after_s "
        "(equal to sample_interval_s: never slower).",
    )  # fmt: skip
    idle_after_s: float = Field(
        default=30.0, ge=0, le=3600,
        description="Seconds without motion or detections before a camera is sampled slower.",
    )  # fmt: skip
    confidence: float = Field(default=0.4, ge=0, le=1, description="Minimum detection score.")
    iou: float = Field(
        default=0.5, gt=0, le=1, description="Overlap above which a same-class box is a duplicate."
    )
    # On the 2-core CPU box a batch of 8 ran no more frames/s than single frames (~25-42 vs
    # ~37-41 with 2 threads, bench/crops.py) and takes ~200 ms: batching pays on GPUs.
    max_batch: int = Field(default=8, ge=1, le=64, description="Views per inference batch.")
    max_wait_ms: int = Field(
        default=20, ge=0, le=1000, description="How long a batch waits to fill before running."
    )
    crop_classes: tuple[DetectorClass, ...] = Field(
        default=DEFAULT_CROP_CLASSES,
        description="Classes taken from motion-region crops; the others from the whole frame.",
    )
    # Of those, the ones the whole frame never reports (bench/crops.py: recall on the whole
    # frame 0.01-0.24, and its guesses, e.g. an arm raised over a head read as a bare hand,
    # raised false no_gloves events in the scenario suite).
    crop_only_classes: tuple[DetectorClass, ...] = Field(
        default=DEFAULT_CROP_ONLY_CLASSES,
        description="Crop classes the whole frame (shrunk to the input) never reports.",
    )
    max_regions: int = Field(
        default=4, ge=0, le=16, description="Most motion regions per frame (0: no crops)."
    )
    # Each crop is one more model input: a busy kitchen's regions take turns instead.
    crops_per_sample: int = Field(
        default=2, ge=1, le=16, description="Most of those regions cropped in one sample."
    )
    recheck_s: float = Field(
        default=10.0, ge=1, le=10, description="Run the detector at least this often per camera."
    )
    motion_height: int = Field(
        default=180,
        ge=45,
        le=720,
        description="Height in pixels the motion gate compares at, at most that of the "
        "sampler's grey picture (health.sample_width wide: 180 for 16:9 at 320).",
    )
    motion_threshold: int = Field(
        default=20, ge=1, le=255, description="Grey-level change that counts as motion."
    )
    motion_min_area: int = Field(
        default=4, ge=1, le=10_000, description="Smallest moving blob in motion-gate pixels."
    )

    @model_validator(mode="after")
    def _check_idle_interval(self) -> DetectorConfig:
        if self.idle_sample_interval_s < self.sample_interval_s:
            raise ValueError(
                f"idle_sample_interval_s ({self.idle_sample_interval_s}) is shorter than "
                f"sample_interval_s ({self.sample_interval_s}): a still camera would be "
                "sampled faster"
            )
        return self

    @model_validator(mode="after")
    def _check_crop_classes(self) -> DetectorConfig:
        if len(set(self.crop_classes)) != len(self.crop_classes):
            raise ValueError("crop_classes lists a class twice")
        stray = sorted(set(self.crop_only_classes) - set(self.crop_classes))
        if stray:
            raise ValueError(f"crop_only_classes {stray} are not in crop_classes")
        return self
