"""bench/realdata.py on small sets drawn here: real files, the shipped INT8 model (no mocks)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.realdata import (
    EVIDENCE,
    Photo,
    average_precision,
    choose_thresholds,
    evaluate,
    format_report,
    grid_views,
    runtime_thresholds,
)
from bench.realdata import main as bench_main
from detectors.detection import Detection
from detectors.runtime import Region
from detectors.scenes import render_scene
from detectors.scenes.labels import CLASS_NAMES, Box, to_yolo_line
from hub.cli import main as bkhub
from hub.config.detection import DetectionConfig
from hub.config.detector import DetectorConfig
from tests.dataset_files import write_image, write_mapping

MODEL = Path(__file__).resolve().parents[1] / DetectorConfig().model_path


def test_average_precision_hand_computed() -> None:
    # 3 boxes; detections by score: hit, miss, hit, miss. Precision envelope 1 up to recall
    # 1/3, 2/3 up to 2/3, never recall 1: AP = 1/3 * 1 + 1/3 * 2/3 = 5/9.
    assert average_precision([0.9, 0.8, 0.7, 0.6], [True, False, True, False], 3) == \
        pytest.approx(5 / 9)  # fmt: skip
    assert average_precision([0.3, 0.9], [True, False], 1) == pytest.approx(0.5)  # order by score
    assert average_precision([], [], 2) == 0.0
    assert np.isnan(average_precision([0.5], [False], 0))


def test_thresholds_chosen_by_f1_and_the_false_pest_cap() -> None:
    every = frozenset(CLASS_NAMES)

    def photo(n: int, *boxes: Box) -> Photo:
        return Photo(Path(f"p{n}.jpg"), boxes, every, frozenset(b.cls for b in boxes))

    def det(cls: str, score: float) -> Detection:
        return Detection(cls, score, 0, 0, 10, 10)

    rat, head = Box("rat", 0, 0, 10, 10), Box("head_bare", 0, 0, 10, 10)
    photos = [photo(n, rat) for n in range(10)] + [photo(10 + n) for n in range(10)]
    found = [[det("rat", 0.5 if n < 5 else 0.8)] for n in range(10)]
    found += [[det("rat", 0.6)] if n < 5 else [] for n in range(10)]  # false rats on pest-free
    photos += [photo(20 + n, head) for n in range(4)]
    found += [[det("head_bare", 0.9)] for _ in range(4)]
    found[10:14] = [[*f, det("head_bare", 0.45)] for f in found[10:14]]  # false heads
    chosen = choose_thresholds(photos, found, EVIDENCE)
    # rat: every threshold up to 0.6 lets 5 false rats per 14 pest-free photos through; above
    # it, half the rats at precision 1. head_bare: 0.5 drops only the false ones.
    assert chosen["rat"] == 0.65 and chosen["head_bare"] == 0.5
    assert chosen["cockroach"] == 0.4  # nothing to find, nothing false: the lowest candidate
    assert set(chosen) == set(EVIDENCE)


def test_runtime_thresholds_are_the_hub_defaults() -> None:
    thr = runtime_thresholds(DetectorConfig(), DetectionConfig())
    own = {"rat": 0.7, "cockroach": 0.5, "hand_bare": 0.55}
    assert {c: thr[c] for c in own} == own
    assert {c: t for c, t in thr.items() if c not in own} == dict.fromkeys(
        [c for c in CLASS_NAMES if c not in own], 0.4)  # fmt: skip


def test_grid_views_are_squares_of_at_least_the_input() -> None:
    views = grid_views(1280, 720, 320, 2)
    assert views[0] is None and len(views) == 5
    # Each 640 x 360 cell in the smallest square around it that is at least the input.
    assert all(isinstance(v, Region) and v.width == v.height == 640 for v in views[1:])
    assert grid_views(640, 480, 320, 2)[1:] == [Region(0, 0, 320, 320), Region(320, 0, 640, 320),
                                                Region(0, 160, 320, 480),
                                                Region(320, 160, 640, 480)]  # fmt: skip
    assert grid_views(240, 240, 320, 2) == [None, Region(0, 0, 240, 240)]
    assert grid_views(640, 360, 320, 0) == [None]


def test_bench_on_real_inference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A drawn kitchen with its boxes and a flat grey wall, through the shipped INT8 model."""
    data = tmp_path / "plain"
    scene = render_scene(1_000_001, size=640)
    h, w = scene.image.shape[:2]
    write_image(data / "images" / "kitchen.jpg", scene.image, cv2.IMWRITE_JPEG_QUALITY, 95)
    (data / "labels").mkdir()
    lines = [line for b in scene.boxes if (line := to_yolo_line(b, w, h)) is not None]
    (data / "labels" / "kitchen.txt").write_text("\n".join(lines) + "\n")
    write_image(data / "images" / "wall.jpg", np.full((360, 640, 3), 128, np.uint8))
    (data / "labels" / "wall.txt").write_text("")
    assert bench_main(["--data", str(data), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    report = json.loads((tmp_path / "r.json").read_text())
    assert out[0].startswith("2 photos from ") and "views per photo" in out[0]
    assert out[1].split() == ["class", "images", "boxes", "AP50", "thr", "R", "P", "hit"]
    rows = {r["name"]: r for r in report["classes"]}
    truth = {c: sum(b.cls == c for b in scene.boxes) for c in CLASS_NAMES}
    table = [line.split() for line in out[2:] if line.split()[0] in CLASS_NAMES]
    assert table and {r[0] for r in table} >= {"person", "rat"}
    for name, images, boxes, *cells in table:
        assert int(boxes) == truth[name] == rows[name]["boxes"]
        assert int(images) == (1 if truth[name] else 0) == rows[name]["images"]
        assert all(c == "-" or 0 <= float(c) <= 1 for c in cells)
    assert rows["person"]["recall"] > 0.5 and rows["person"]["hit_rate"] == 1.0  # drawn people
    pests = sum(truth[p] for p in ("rat", "cockroach"))
    assert report["pest_free_images"] == (1 if pests else 2)
    assert sum(line.startswith("false ") for line in out) == 2


def test_bench_empty_photo_gives_no_hit(tmp_path: Path) -> None:
    """A source that says each photo shows a person (unboxed); its one photo is a bare grey
    wall: person is scored per image only, and nothing may be found there."""
    write_image(tmp_path / "walls" / "images" / "wall.jpg", np.full((360, 640, 3), 128, np.uint8))
    (tmp_path / "walls" / "labels").mkdir()
    (tmp_path / "walls" / "labels" / "wall.txt").write_text("")  # a negative
    mapping = write_mapping(tmp_path / "walls.yaml", name="walls", names=["wall"],
                       labels={"wall": "drop"}, shown_unboxed=["person"])  # fmt: skip
    out = tmp_path / "out"
    with contextlib.redirect_stderr(io.StringIO()):
        assert bkhub(["dataset", "build", "--out", str(out), "--val", "0", "--source",
                      str(mapping), str(tmp_path / "walls")]) == 0  # fmt: skip
    report, problems, _ = evaluate([out], model=MODEL, split="train")
    assert not problems and report.images == 1 and report.pest_free_images == 1
    person = next(r for r in report.classes if r.name == "person")
    assert (person.images, person.boxes, person.ap50, person.hit_rate) == (1, 0, None, 0.0)
    assert report.false_per_100 == {"rat": 0.0, "cockroach": 0.0}
    assert all(r.precision is None for r in report.classes)
    lines = format_report(report).splitlines()
    assert lines[2].split() == ["person", "1", "0", "-", "0.40", "-", "-", "0.000"]
    assert len(lines) == 5  # header, columns, person, the two pest lines
