"""Writes scenes as a standard YOLO dataset (images/, labels/, data.yaml).

Each scene is rendered at the cameras' own resolution and becomes what the runtime detector
feeds the model: the whole frame shrunk to the model's input, and square crops of the frame
(the motion regions the runtime crops around small targets), each resized to the input size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from detectors.scenes.compose import render_scene
from detectors.scenes.labels import CLASS_NAMES, Box, to_yolo_line

__all__ = [
    "MIN_LABEL_PX",
    "DatasetSummary",
    "View",
    "crop_views",
    "write_dataset",
    "write_view_sets",
]

Image = np.ndarray
# Every n-th scene goes to val: a deterministic split that needs no shuffling state.
_VAL_EVERY = 10
# Objects under this many pixels on their shorter side at the model's input are not labelled:
# nothing can find them there (the runtime's crops are what keep small targets bigger).
MIN_LABEL_PX = 4.0
# A box cut by a crop keeps its label only when this much of it is still inside.
_MIN_VISIBLE = 0.4
# Crops are centred on small targets more often than on whole people.
_TARGET_WEIGHT = {"rat": 4.0, "cockroach": 6.0, "hand_gloved": 2.0, "hand_bare": 2.0}


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    root: Path
    train: int
    val: int
    boxes_per_class: dict[str, int]


@dataclass(frozen=True, slots=True)
class View:
    """One training image: pixels at the model's input scale and its labelled boxes."""

    image: Image
    boxes: tuple[Box, ...]


def _resized(image: Image, boxes: tuple[Box, ...], x0: int, y0: int, side_w: int, side_h: int,
             out_w: int, out_h: int) -> View:  # fmt: skip
    """The window (x0, y0, side_w, side_h) of `image` resized to out_w x out_h, boxes mapped."""
    window = image[y0 : y0 + side_h, x0 : x0 + side_w]
    pixels = cv2.resize(window, (out_w, out_h), interpolation=cv2.INTER_AREA)
    sx, sy = out_w / side_w, out_h / side_h
    kept: list[Box] = []
    for b in boxes:
        area = (b.x1 - b.x0) * (b.y1 - b.y0)
        c = Box(b.cls, b.x0 - x0, b.y0 - y0, b.x1 - x0, b.y1 - y0).clipped(side_w, side_h)
        if c is None or (c.x1 - c.x0) * (c.y1 - c.y0) < _MIN_VISIBLE * area:
            continue
        m = Box(b.cls, c.x0 * sx, c.y0 * sy, c.x1 * sx, c.y1 * sy)
        if min(m.x1 - m.x0, m.y1 - m.y0) >= MIN_LABEL_PX:
            kept.append(m)
    return View(pixels, tuple(kept))


def _view_name(scene_seed: int, k: int) -> str:
    """A view's file stem: view 0 is the scene's whole frame, 1.. its crops."""
    return f"scene_{scene_seed:07d}_{k}"


def _is_whole_frame(image: Path) -> bool:
    return image.stem.endswith("_0")


def crop_views(image: Image, boxes: tuple[Box, ...], rng: np.random.Generator, *, imgsz: int,
               count: int) -> list[View]:  # fmt: skip
    """`count` square crops of side imgsz..2*imgsz around (mostly) labelled targets."""
    h, w = image.shape[:2]
    views = []
    weights = np.array([_TARGET_WEIGHT.get(b.cls, 1.0) for b in boxes])
    for _ in range(count):
        low = min(imgsz, h, w)  # a frame smaller than the input gives crops of its own height
        side = int(rng.uniform(low, min(h, w, 2 * imgsz) + 1))
        if len(boxes):
            b = boxes[int(rng.choice(len(boxes), p=weights / weights.sum()))]
            cx = (b.x0 + b.x1) / 2 + rng.uniform(-side / 3, side / 3)
            cy = (b.y0 + b.y1) / 2 + rng.uniform(-side / 3, side / 3)
        else:
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        x0 = int(np.clip(cx - side / 2, 0, w - side))
        y0 = int(np.clip(cy - side / 2, 0, h - side))
        views.append(_resized(image, boxes, x0, y0, side, side, imgsz, imgsz))
    return views


def write_dataset(
    out: Path,
    *,
    count: int,
    size: int = 1280,
    imgsz: int = 320,
    crops: int = 2,
    seed: int = 0,
    footage: list[Image] | None = None,
) -> DatasetSummary:
    """Renders scenes seed..seed+count-1 at `size` px wide into `out` and writes its data.yaml.

    Each scene gives its whole frame at `imgsz` px wide plus `crops` square crops at imgsz.
    """
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(CLASS_NAMES, 0)
    splits = {"train": 0, "val": 0}
    for i in range(count):
        scene_seed = seed + i
        scene = render_scene(scene_seed, size=size, footage=footage)
        split = "val" if i % _VAL_EVERY == _VAL_EVERY - 1 else "train"
        h, w = scene.image.shape[:2]
        out_w = min(imgsz, w)
        views = [_resized(scene.image, scene.boxes, 0, 0, w, h, out_w, round(h * out_w / w))]
        rng = np.random.default_rng([scene_seed, 1])  # crops never change the scene itself
        views += crop_views(scene.image, scene.boxes, rng, imgsz=imgsz, count=crops)
        for k, view in enumerate(views):
            name = _view_name(scene_seed, k)
            vh, vw = view.image.shape[:2]
            lines = [line for b in view.boxes if (line := to_yolo_line(b, vw, vh)) is not None]
            for b in view.boxes:
                counts[b.cls] += 1
            if not cv2.imwrite(str(out / "images" / split / f"{name}.jpg"), view.image,
                               [cv2.IMWRITE_JPEG_QUALITY, 92]):  # fmt: skip
                raise OSError(f"could not write {name}.jpg under {out}")
            text = "\n".join(lines) + ("\n" if lines else "")
            (out / "labels" / split / f"{name}.txt").write_text(text)
            splits[split] += 1
    data = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(CLASS_NAMES)),
    }
    (out / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    write_view_sets(out)
    return DatasetSummary(out, splits["train"], splits["val"], counts)


def write_view_sets(root: Path) -> dict[str, Path]:
    """Data files that evaluate every image of the set (both splits), by kind of view:
    `all.yaml`, `whole.yaml` (whole frames shrunk) and `crops.yaml` (the square crops, which
    is all the runtime shows the model for its crop-only classes). Meant for a held-out set;
    returns the YAML paths by view."""
    root = root.resolve()
    images = sorted((root / "images").glob("*/scene_*.jpg"))
    kinds = {
        "all": images,
        "whole": [p for p in images if _is_whole_frame(p)],
        "crops": [p for p in images if not _is_whole_frame(p)],
    }
    written = {}
    for view, paths in kinds.items():
        listing = root / f"{view}.txt"
        listing.write_text("".join(f"{p}\n" for p in paths))
        data = {"path": str(root), "train": listing.name, "val": listing.name,
                "names": dict(enumerate(CLASS_NAMES))}  # fmt: skip
        written[view] = root / f"{view}.yaml"
        written[view].write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return written
