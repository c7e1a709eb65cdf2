"""The procedural kitchen-scene generator: determinism, label validity, class coverage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

import detectors.scenes as scenes
from detectors.scenes import (
    CLASS_NAMES,
    Scene,
    draw_cockroach,
    draw_rat,
    h264_roundtrip,
    load_footage,
    render_scene,
    to_yolo_line,
)
from detectors.scenes.dataset import write_dataset

BATCH = 40
SIZE = 320
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def batch() -> list[Scene]:
    return [render_scene(seed, size=SIZE) for seed in range(BATCH)]


def _lines(scene: Scene) -> list[str]:
    h, w = scene.image.shape[:2]
    return [line for b in scene.boxes if (line := to_yolo_line(b, w, h)) is not None]


def test_public_surface() -> None:
    modules = {"annotations", "backgrounds", "catalogue", "compose", "dataset", "effects",
               "labels", "people", "pests", "scenario", "scoring", "video"}  # fmt: skip
    assert sorted(scenes.__all__) == sorted(
        n for n in dir(scenes) if not n.startswith("_") and n not in modules
    )
    assert CLASS_NAMES == (
        "person", "head_chef_hat", "head_bare", "face_mask", "face_bare",
        "hand_gloved", "hand_bare", "rat", "cockroach",
    )  # fmt: skip


def test_same_seed_same_scene() -> None:
    a, b = render_scene(1234, size=SIZE), render_scene(1234, size=SIZE)
    assert np.array_equal(a.image, b.image)
    assert a.boxes == b.boxes and _lines(a) == _lines(b)
    c = render_scene(1235, size=SIZE)
    assert not np.array_equal(a.image, c.image)


def test_h264_roundtrip_is_deterministic() -> None:
    img = render_scene(3, size=SIZE).image
    a, b = h264_roundtrip(img, 36), h264_roundtrip(img, 36)
    assert a.shape == img.shape and np.array_equal(a, b)
    assert 0 < float(np.abs(a.astype(int) - img).mean()) < 20  # lossy, but the same picture
    assert h264_roundtrip(img[:179], 36).shape == (179, SIZE, 3)  # odd height: JPEG fallback


def test_labels_are_valid_yolo(batch: list[Scene]) -> None:
    for scene in batch:
        h, w = scene.image.shape[:2]
        assert (w, h) == (SIZE, 180) and scene.image.dtype == np.uint8
        assert len(_lines(scene)) == len(scene.boxes)  # boxes come clipped already
        for line in _lines(scene):
            parts = line.split()
            assert len(parts) == 5
            cls = int(parts[0])
            x, y, bw, bh = map(float, parts[1:])
            assert 0 <= cls < len(CLASS_NAMES)
            assert 0 < x <= 1 and 0 < y <= 1 and 0 < bw <= 1 and 0 < bh <= 1
            eps = 1e-5  # six printed decimals
            assert x - bw / 2 >= -eps and x + bw / 2 <= 1 + eps
            assert y - bh / 2 >= -eps and y + bh / 2 <= 1 + eps


def test_every_class_appears_in_a_small_batch(batch: list[Scene]) -> None:
    seen = {b.cls for scene in batch for b in scene.boxes}
    assert seen == set(CLASS_NAMES)


def test_pests_are_small(batch: list[Scene]) -> None:
    area = SIZE * 180
    roaches = [(b.x1 - b.x0) * (b.y1 - b.y0) / area for s in batch for b in s.boxes
               if b.cls == "cockroach"]  # fmt: skip
    rats = [(b.x1 - b.x0) * (b.y1 - b.y0) / area for s in batch for b in s.boxes
            if b.cls == "rat"]  # fmt: skip
    assert roaches and rats
    assert float(np.mean(roaches)) < 0.005
    assert float(np.mean(rats)) < 0.03


@pytest.mark.parametrize("floor", [40, 83, 140, 220])
def test_a_pest_stands_out_from_its_floor(floor: int) -> None:
    """Drawn on a floor of its own grey (83 is the rat's), a pest is still visible: its body
    differs from the floor by >= 40 grey levels, as an annotator would need to label it."""
    for draw, length in ((draw_rat, 60.0), (draw_cockroach, 16.0)):
        img = np.full((200, 200, 3), floor, np.uint8)
        box = draw(img, np.random.default_rng(3), 100.0, 100.0, length)
        grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(int)  # as an IR camera sees it
        inside = grey[round(box.y0) : round(box.y1), round(box.x0) : round(box.x1)]
        assert np.abs(inside - floor).max() >= 40, draw.__name__


def test_night_scenes_are_grayscale(batch: list[Scene]) -> None:
    nights = [s for s in batch if s.night]
    days = [s for s in batch if not s.night]
    assert nights and days
    for scene in nights:
        img = scene.image
        assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])
    assert any(not np.array_equal(s.image[..., 0], s.image[..., 2]) for s in days)


def test_parts_sit_inside_their_person(batch: list[Scene]) -> None:
    for scene in batch:
        people = [b for b in scene.boxes if b.cls == "person"]
        for part in scene.boxes:
            if part.cls in {"person", "rat", "cockroach"}:
                continue
            assert any(p.x0 <= part.x0 and part.x1 <= p.x1 and p.y0 <= part.y0 and part.y1 <= p.y1
                       for p in people), part  # fmt: skip


def test_dataset_layout(tmp_path: Path) -> None:
    summary = write_dataset(tmp_path / "ds", count=12, size=1280, imgsz=SIZE, crops=2, seed=5)
    root = tmp_path / "ds"
    assert (summary.train, summary.val) == (33, 3)  # each scene: its whole frame + 2 crops
    for split, n in (("train", 33), ("val", 3)):
        images = sorted((root / "images" / split).glob("*.jpg"))
        labels = sorted((root / "labels" / split).glob("*.txt"))
        assert len(images) == n and [p.stem for p in images] == [p.stem for p in labels]
    data = yaml.safe_load((root / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(CLASS_NAMES))
    assert (Path(data["path"]) / data["train"]).is_dir() and data["val"] == "images/val"
    # Held-out evaluation by kind of view: every image of both splits, whole frames or crops.
    listed = {}
    for view in ("all", "whole", "crops"):
        spec = yaml.safe_load((root / f"{view}.yaml").read_text())
        assert spec["names"] == data["names"] and spec["val"] == f"{view}.txt"
        listed[view] = [Path(line) for line in (root / spec["val"]).read_text().splitlines()]
        assert all(p.is_file() for p in listed[view])
    assert len(listed["whole"]) == 12 and len(listed["crops"]) == 24
    assert sorted(listed["whole"] + listed["crops"]) == sorted(listed["all"])
    assert all(p.stem.endswith("_0") for p in listed["whole"])


def test_cli_writes_n_images(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["--out", str(out), "--count", "3", "--size", "256", "--seed", "9"]
    done = subprocess.run([sys.executable, "-m", "detectors.scenes", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(list(out.glob("images/*/*.jpg"))) == 9  # whole frame + 2 crops per scene
    assert len(list(out.glob("labels/*/*.txt"))) == 9


def test_footage_is_optional(tmp_path: Path) -> None:
    assert load_footage(tmp_path) == []
    frames = load_footage()
    assert frames and all(f.ndim == 3 for f in frames)
    scenes_with = [render_scene(s, size=SIZE, footage=frames) for s in range(8)]
    assert all(s.image.shape == (180, SIZE, 3) for s in scenes_with)


def test_crop_views_map_boxes_onto_their_pixels() -> None:
    from detectors.scenes.dataset import MIN_LABEL_PX, crop_views

    image = np.zeros((720, 1280, 3), np.uint8)
    image[400:440, 900:960] = 255  # a white "rat" 60 x 40 px
    boxes = (scenes.Box("rat", 900, 400, 960, 440), scenes.Box("cockroach", 10, 10, 12, 12))
    views = crop_views(image, boxes, np.random.default_rng(0), imgsz=SIZE, count=6)
    assert len(views) == 6
    for view in views:
        assert view.image.shape == (SIZE, SIZE, 3)
        assert all(min(b.x1 - b.x0, b.y1 - b.y0) >= MIN_LABEL_PX for b in view.boxes)
        for b in view.boxes:
            assert b.cls == "rat"  # the 2 px cockroach is too small to keep a label
            x0, y0, x1, y1 = (round(v) for v in (b.x0, b.y0, b.x1, b.y1))
            inside = view.image[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1]
            assert inside.size and inside.mean() > 200  # the box sits on the white pixels
    assert any(view.boxes for view in views)  # crops aim at labelled targets
