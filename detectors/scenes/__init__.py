"""Procedural kitchen scenes: labelled YOLO training data for the 明厨亮灶 detector, and
scripted scenario clips with ground truth for end-to-end benches (scenario, catalogue, video).

Nothing here needs torch: numpy and OpenCV draw everything, deterministically from a seed.
"""

from detectors.scenes.backgrounds import Layout, load_footage, render_background
from detectors.scenes.catalogue import CATALOGUE
from detectors.scenes.compose import Scene, render_scene
from detectors.scenes.dataset import DatasetSummary, write_dataset, write_view_sets
from detectors.scenes.effects import apply_effects, compress, h264_roundtrip, night_infrared
from detectors.scenes.labels import CLASS_NAMES, Box, class_id, to_yolo_line
from detectors.scenes.people import Worker, draw_worker, random_worker
from detectors.scenes.pests import draw_cockroach, draw_rat
from detectors.scenes.scenario import (
    Change,
    PestScript,
    Scenario,
    Violation,
    WorkerScript,
    ground_truth,
)
from detectors.scenes.video import ScenarioClip, footage_clip, render_scenario

__all__ = [
    "CATALOGUE",
    "CLASS_NAMES",
    "Box",
    "Change",
    "DatasetSummary",
    "Layout",
    "PestScript",
    "Scenario",
    "ScenarioClip",
    "Scene",
    "Violation",
    "Worker",
    "WorkerScript",
    "apply_effects",
    "class_id",
    "compress",
    "draw_cockroach",
    "draw_rat",
    "draw_worker",
    "footage_clip",
    "ground_truth",
    "h264_roundtrip",
    "load_footage",
    "night_infrared",
    "random_worker",
    "render_background",
    "render_scenario",
    "render_scene",
    "to_yolo_line",
    "write_dataset",
    "write_view_sets",
]
