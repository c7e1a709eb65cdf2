"""Writes scenes as a standard YOLO dataset (images/, labels/, data.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from detectors.scenes.compose import render_scene
from detectors.scenes.labels import CLASS_NAMES, to_yolo_line

__all__ = ["DatasetSummary", "write_dataset"]

Image = np.ndarray
# Every n-th scene goes to val: a deterministic split that needs no shuffling state.
_VAL_EVERY = 10


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    root: Path
    train: int
    val: int
    boxes_per_class: dict[str, int]


def write_dataset(
    out: Path, *, count: int, size: int = 640, seed: int = 0, footage: list[Image] | None = None
) -> DatasetSummary:
    """Renders scenes seed..seed+count-1 into `out` and writes its data.yaml."""
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(CLASS_NAMES, 0)
    splits = {"train": 0, "val": 0}
    for i in range(count):
        scene_seed = seed + i
        scene = render_scene(scene_seed, size=size, footage=footage)
        split = "val" if i % _VAL_EVERY == _VAL_EVERY - 1 else "train"
        splits[split] += 1
        name = f"scene_{scene_seed:07d}"
        h, w = scene.image.shape[:2]
        lines = [line for b in scene.boxes if (line := to_yolo_line(b, w, h)) is not None]
        for b in scene.boxes:
            counts[b.cls] += 1
        if not cv2.imwrite(str(out / "images" / split / f"{name}.jpg"), scene.image):
            raise OSError(f"could not write {name}.jpg under {out}")
        text = "\n".join(lines) + ("\n" if lines else "")
        (out / "labels" / split / f"{name}.txt").write_text(text)
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(CLASS_NAMES)),
    }
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return DatasetSummary(out, splits["train"], splits["val"], counts)
