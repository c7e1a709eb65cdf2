"""The runtime detector's parts: backends (real model), pre/postprocessing, motion gate."""

from __future__ import annotations

import logging
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import get_args

import cv2
import numpy as np
import pytest

import detectors.runtime
from detectors.detection import CLASS_NAMES, Detection
from detectors.runtime import Backend, MotionGate, Region, load_backend
from detectors.runtime.errors import FrameError, ModelError
from detectors.runtime.motion import regions_around
from detectors.runtime.postprocess import Candidates, decode, merge_views, nms, to_detections
from detectors.runtime.preprocess import PAD_VALUE, check_frame, letterbox_into, square_around
from detectors.scenes import Box, render_scene
from detectors.scenes.pests import draw_cockroach
from hub.config.detector import DetectorClass, DetectorConfig

REPO = Path(__file__).resolve().parents[1]
# The committed model; BKHUB_TEST_MODEL points the tests at another export of the same kind.
MODEL = Path(os.environ.get("BKHUB_TEST_MODEL", REPO / "detectors/models/bkhub-yolo11n.onnx"))
INT8_MODEL = MODEL.with_suffix(".int8.onnx")  # `bkhub quantize` of it, the hub's default
SIZE = 320
# Held-out scenes (the training set uses low seeds) with people, pests or both.
SEEDS = (1_000_001, 1_000_002, 1_000_003)


def test_public_api_is_pinned() -> None:
    assert sorted(detectors.runtime.__all__) == sorted(
        [
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
    )
    assert sorted(detectors.runtime.BACKENDS) == ["onnxruntime", "openvino", "ultralytics"]


def test_config_classes_are_the_models() -> None:
    assert get_args(DetectorClass) == CLASS_NAMES
    config = DetectorConfig()
    assert set(config.crop_classes) <= set(CLASS_NAMES)
    assert config.recheck_s <= 10
    with pytest.raises(ValueError, match="twice"):
        DetectorConfig(crop_classes=("rat", "rat"))
    assert set(config.crop_only_classes) <= set(config.crop_classes)
    with pytest.raises(ValueError, match=r"crop_only_classes \['person'\] are not in"):
        DetectorConfig(crop_only_classes=("person",))


# -- backends on the real model --------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> Path:
    if not MODEL.is_file():
        pytest.skip(f"no detector model at {MODEL} (bkhub train exports it there)")
    return MODEL


@pytest.fixture(scope="module")
def backends(model: Path) -> dict[str, Backend]:
    return {name: load_backend(name, model, threads=1) for name in ("onnxruntime", "openvino")}


def _views(seed: int) -> tuple[np.ndarray, list[Region | None]]:
    scene = render_scene(seed, size=1280)
    small = [b for b in scene.boxes if b.cls in ("cockroach", "rat", "hand_bare", "hand_gloved")]
    target = small[0] if small else scene.boxes[0]
    box = Region(int(target.x0), int(target.y0), int(target.x1), int(target.y1))
    return scene.image, [None, square_around(box, SIZE, 1280, 720)]


def _matched(a: list[Detection], b: list[Detection], confidence: float) -> None:
    """Every detection of `a` has its twin in `b` (except ones at the threshold's edge)."""
    for d in a:
        twins = [e for e in b if e.cls == d.cls and abs(e.x0 - d.x0) <= 1 and abs(e.y0 - d.y0) <= 1
                 and abs(e.x1 - d.x1) <= 1 and abs(e.y1 - d.y1) <= 1]  # fmt: skip
        if not twins:
            assert d.score - confidence < 1e-3, f"{d} has no twin in {b}"
            continue
        assert min(abs(e.score - d.score) for e in twins) < 1e-3


def test_onnxruntime_and_openvino_give_the_same_detections(backends: dict[str, Backend]) -> None:
    confidence, total = 0.25, 0
    for seed in SEEDS:
        image, regions = _views(seed)
        batch = np.empty((len(regions), 3, SIZE, SIZE), np.float32)
        transforms = [letterbox_into(image, r, SIZE, batch[i]) for i, r in enumerate(regions)]
        raw = {name: b.infer(batch) for name, b in backends.items()}
        diff = np.abs(raw["onnxruntime"] - raw["openvino"])
        assert diff[:, :4].max() < 0.05 and diff[:, 4:].max() < 1e-4  # box px, scores
        for k, transform in enumerate(transforms):
            found = {
                name: to_detections(decode(out[k], transform, confidence=confidence, iou=0.5))
                for name, out in raw.items()
            }
            _matched(found["onnxruntime"], found["openvino"], confidence)
            _matched(found["openvino"], found["onnxruntime"], confidence)
            total += len(found["onnxruntime"])
    assert total > 0, "the model found nothing at all: nothing was compared"


def test_the_int8_model_finds_what_the_float_model_finds(backends: dict[str, Backend]) -> None:
    """The 8-bit copy the hub runs by default: the same objects, boxes within IoU 0.7."""
    if not INT8_MODEL.is_file():
        pytest.skip(f"no INT8 copy at {INT8_MODEL} (bkhub quantize writes it)")
    int8 = load_backend("onnxruntime", INT8_MODEL, threads=1)
    pairs = agreed = 0
    for seed in (1_000_000, *SEEDS, 1_000_004, 1_000_005):
        image, regions = _views(seed)
        batch = np.empty((len(regions), 3, SIZE, SIZE), np.float32)
        transforms = [letterbox_into(image, r, SIZE, batch[i]) for i, r in enumerate(regions)]
        outs = (backends["onnxruntime"].infer(batch), int8.infer(batch))
        for k, transform in enumerate(transforms):
            # Confident ones of each against all of the other's above a lower threshold.
            sure, loose = (
                [to_detections(decode(o[k], transform, confidence=c, iou=0.5)) for o in outs]
                for c in (0.5, 0.3)
            )
            for mine, theirs in ((sure[0], loose[1]), (sure[1], loose[0])):
                for d in mine:
                    pairs += 1
                    agreed += any(e.cls == d.cls and _iou(e, Box(d.cls, d.x0, d.y0, d.x1, d.y1))
                                  >= 0.7 for e in theirs)  # fmt: skip
    assert pairs >= 20, "too few detections to compare"
    assert agreed / pairs >= 0.95, (agreed, pairs)


def _iou(d: Detection, b: Box) -> float:
    w = max(0.0, min(d.x1, b.x1) - max(d.x0, b.x0))
    h = max(0.0, min(d.y1, b.y1) - max(d.y0, b.y0))
    return w * h / (d.area + (b.x1 - b.x0) * (b.y1 - b.y0) - w * h)


def test_real_detections_land_on_the_ground_truth(backends: dict[str, Backend]) -> None:
    """Whole frame and crops through the model back to frame pixels, against the labels."""
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    crop_ids = {CLASS_NAMES.index(c) for c in DetectorConfig().crop_classes}
    for seed in (1_000_000, *SEEDS):
        scene = render_scene(seed, size=1280)
        movers = [Region(int(b.x0), int(b.y0), int(b.x1) + 1, int(b.y1) + 1)
                  for b in scene.boxes if b.cls == "person"]  # fmt: skip
        regions = regions_around(movers, width=1280, height=720, min_side=SIZE, max_regions=4)
        views: list[Region | None] = [None, *regions]
        batch = np.empty((len(views), 3, SIZE, SIZE), np.float32)
        transforms = [letterbox_into(scene.image, r, SIZE, batch[i]) for i, r in enumerate(views)]
        raw = backends["onnxruntime"].infer(batch)
        cands = [decode(raw[k], t, confidence=0.4, iou=0.5) for k, t in enumerate(transforms)]
        dets = to_detections(merge_views(list(zip(cands, views, strict=True)),
                                         crop_classes=crop_ids, iou=0.5))  # fmt: skip
        for box in scene.boxes:
            group = "head" if box.cls.startswith("head") else box.cls
            total[group] += 1
            found[group] += any(d.cls == box.cls and _iou(d, box) >= 0.5 for d in dets)
    assert total["person"] >= 8 and total["head"] >= 8
    # Floors far below what even the first checkpoint reaches (person 0.70, heads 0.87).
    assert found["person"] / total["person"] >= 0.5, (found, total)
    assert found["head"] / total["head"] >= 0.5, (found, total)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_missing_and_corrupt_models_are_model_errors(tmp_path: Path, model: Path,
                                                     backend: str) -> None:  # fmt: skip
    missing = tmp_path / "nope.onnx"
    with pytest.raises(ModelError, match=rf"{missing}: model file not found"):
        load_backend(backend, missing)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(model.read_bytes()[:100_000])
    with pytest.raises(ModelError, match=str(truncated)):
        load_backend(backend, truncated)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00not a model" * 1000)
    with pytest.raises(ModelError, match=str(garbage)):
        load_backend(backend, garbage)


def _with_metadata(model: Path, out: Path, **props: str) -> Path:
    import onnx

    proto = onnx.load(str(model))
    for prop in proto.metadata_props:
        if prop.key in props:
            prop.value = props[prop.key]
    onnx.save(proto, str(out))
    return out


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_a_model_with_another_class_map_is_refused(tmp_path: Path, model: Path,
                                                   backend: str) -> None:  # fmt: skip
    swapped = list(CLASS_NAMES)
    swapped[7], swapped[8] = swapped[8], swapped[7]
    names = repr(dict(enumerate(swapped)))
    wrong = _with_metadata(model, tmp_path / "wrong.onnx", names=names)
    with pytest.raises(ModelError, match=r"wrong\.onnx: the model's classes .* do not match"):
        load_backend(backend, wrong)
    fewer = _with_metadata(model, tmp_path / "fewer.onnx", names="{0: 'person'}")
    with pytest.raises(ModelError, match="do not match the detector's class map"):
        load_backend(backend, fewer)


def test_wrong_input_size_and_unknown_backend(tmp_path: Path, model: Path) -> None:
    with pytest.raises(ModelError, match=r"exported for 320x320 input but .* is 640"):
        load_backend("onnxruntime", model, input_size=640)
    with pytest.raises(ModelError, match="unknown detector backend 'tensorrt'"):
        load_backend("tensorrt", model)
    copy = shutil.copy(model, tmp_path / "copy.onnx")
    assert load_backend("onnxruntime", Path(copy), threads=1).infer(
        np.zeros((2, 3, SIZE, SIZE), np.float32)
    ).shape == (2, 4 + len(CLASS_NAMES), 2100)


def test_the_ultralytics_backend_reads_the_same_model(
    model: Path, backends: dict[str, Backend]
) -> None:
    pytest.importorskip("ultralytics", reason="the [train] extra is not installed")
    torch_backend = load_backend("ultralytics", model, threads=1)
    batch = np.empty((2, 3, SIZE, SIZE), np.float32)
    image, regions = _views(SEEDS[0])
    for i, region in enumerate(regions):
        letterbox_into(image, region, SIZE, batch[i])
    assert np.abs(torch_backend.infer(batch) - backends["onnxruntime"].infer(batch)).max() < 1e-3


# -- preprocessing and postprocessing (no model) ---------------------------------------------


def _marked_frame() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    frame = np.full((720, 1280, 3), 60, np.uint8)
    rect = (600, 300, 680, 344)
    frame[rect[1] : rect[3], rect[0] : rect[2]] = 255
    return frame, rect


@pytest.mark.parametrize(
    ("region", "tolerance"),
    [
        (None, 4.0),  # whole frame: 1280x720 -> 320x180 + 70 px bars
        (Region(480, 160, 800, 480), 1.0),  # a crop at the input size: 1:1
        (Region(300, 0, 1020, 720), 2.5),  # a 720 px crop shrunk to 320
        (Region(560, 280, 760, 380), 1.0),  # a small wide crop enlarged and letterboxed
    ],
)
def test_boxes_map_back_to_frame_pixels(region: Region | None, tolerance: float) -> None:
    frame, rect = _marked_frame()
    tensor = np.empty((3, SIZE, SIZE), np.float32)
    transform = letterbox_into(frame, region, SIZE, tensor)
    if region is None:
        assert np.allclose(tensor[:, :70], PAD_VALUE / 255) and np.allclose(
            tensor[:, -70:], PAD_VALUE / 255
        )
    ys, xs = np.nonzero(tensor[0] > 0.6)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    # The same box as the model reports it (cx, cy, w, h), decoded through the postprocessor.
    raw = np.zeros((4 + len(CLASS_NAMES), 2100), np.float32)
    raw[:4, 7] = [(found[0, 0] + found[0, 2]) / 2, (found[0, 1] + found[0, 3]) / 2,
                  found[0, 2] - found[0, 0], found[0, 3] - found[0, 1]]  # fmt: skip
    raw[4 + CLASS_NAMES.index("cockroach"), 7] = 0.9
    (det,) = to_detections(decode(raw, transform, confidence=0.5, iou=0.5))
    assert det.cls == "cockroach" and det.score == pytest.approx(0.9)
    assert np.abs(np.array([det.x0, det.y0, det.x1, det.y1]) - rect).max() <= tolerance


def test_boxes_are_clipped_to_their_view() -> None:
    frame, _ = _marked_frame()
    tensor = np.empty((3, SIZE, SIZE), np.float32)
    transform = letterbox_into(frame, Region(480, 160, 800, 480), SIZE, tensor)
    raw = np.zeros((4 + len(CLASS_NAMES), 2100), np.float32)
    raw[:4, 0] = [310, 160, 60, 40]  # runs off the crop's right edge
    raw[:4, 1] = [160, -50, 20, 20]  # wholly outside the view: gone
    raw[4, :2] = 0.8
    (det,) = to_detections(decode(raw, transform, confidence=0.5, iou=0.5))
    assert (det.x0, det.x1) == (480 + 280, 800)


def test_nms_is_class_wise_and_merging_follows_the_class_policy() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    c = Candidates(boxes, np.array([0.9, 0.8, 0.7, 0.6], np.float32), np.array([8, 8, 7, 8]))
    assert nms(c, 0.5).tolist() == [0, 2, 3]

    rat, roach, person = (CLASS_NAMES.index(n) for n in ("rat", "cockroach", "person"))

    def cands(*rows: tuple[int, float, int, int, int, int]) -> Candidates:
        return Candidates(np.array([r[2:] for r in rows], np.float32),
                          np.array([r[1] for r in rows], np.float32),
                          np.array([r[0] for r in rows], np.int64))  # fmt: skip

    crop_region = Region(0, 0, 320, 320)
    full = cands(
        (person, 0.9, 0, 0, 100, 200),  # a person: the whole frame's
        (roach, 0.5, 5, 5, 9, 9),  # inside the crop: the crop's better view replaces it
        (roach, 0.45, 600, 600, 610, 610),  # away from any crop: kept
    )
    crop = cands(
        (person, 0.7, 0, 0, 60, 120),  # a person cut by the crop: dropped
        (roach, 0.8, 5, 5, 10, 10),
        (rat, 0.6, 20, 20, 30, 30),
    )
    merged = merge_views([(full, None), (crop, crop_region)], crop_classes={rat, roach}, iou=0.5)
    got = sorted((CLASS_NAMES[k], round(float(s), 2)) for k, s in zip(merged.classes,
                 merged.scores, strict=True))  # fmt: skip
    assert got == [("cockroach", 0.45), ("cockroach", 0.8), ("person", 0.9), ("rat", 0.6)]
    only_crops = merge_views([(crop, crop_region)] * 2, crop_classes={rat}, iou=0.5)
    assert len(only_crops) == 3  # one kind of view: every class from it, duplicates merged
    # Crop-only classes never come from the whole frame, with crops or without.
    with_crop = merge_views([(full, None), (crop, crop_region)], crop_classes={rat, roach},
                            iou=0.5, crop_only={roach})  # fmt: skip
    assert sorted(CLASS_NAMES[k] for k in with_crop.classes) == ["cockroach", "person", "rat"]
    assert float(with_crop.scores[with_crop.classes == roach][0]) == pytest.approx(0.8)
    alone = merge_views([(full, None)], crop_classes={rat, roach}, iou=0.5, crop_only={roach})
    assert [CLASS_NAMES[k] for k in alone.classes] == ["person"]


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((720, 1280), np.uint8),
        np.zeros((720, 1280, 3), np.float32),
        np.zeros((720, 1280, 4), np.uint8),
        b"jpeg bytes",
    ],
)
def test_bad_frames_are_frame_errors(bad: object) -> None:
    with pytest.raises(FrameError, match="frame"):
        check_frame(bad)
    with pytest.raises(FrameError):
        MotionGate("cam").update(bad, 0.0)  # type: ignore[arg-type]


def test_square_around_keeps_squares_inside_the_frame() -> None:
    assert square_around(Region(0, 0, 10, 10), 320, 1280, 720) == Region(0, 0, 320, 320)
    assert square_around(Region(1270, 710, 1280, 720), 320, 1280, 720) == Region(
        960, 400, 1280, 720
    )
    assert square_around(Region(100, 100, 600, 300), 320, 1280, 720) == Region(100, 0, 600, 500)
    assert square_around(Region(0, 0, 1000, 500), 320, 1280, 720).width == 1000  # wider: own box


# -- motion gate -------------------------------------------------------------------------------


def _noisy(image: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, 3, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def test_a_static_scene_is_no_change_and_is_rechecked_every_10_s() -> None:
    image = render_scene(1_000_000, size=1280).image
    gate = MotionGate.from_config("cam", DetectorConfig())
    first = gate.update(image, 0.0)
    assert first.run and first.recheck and not first.changed  # a new camera is checked once
    for t in range(1, 10):
        result = gate.update(_noisy(image, t), float(t))
        assert not result.changed and not result.run, t
    due = gate.update(_noisy(image, 10), 10.0)
    assert due.run and due.recheck and not due.changed and due.regions == ()


def test_a_moved_cockroach_gives_a_square_region_holding_it() -> None:
    background = render_scene(1_000_001, size=1280).image
    gate = MotionGate("cam", recheck_s=10)
    frames = []
    for x in (700.0, 725.0):  # a 10 px cockroach runs 25 px over the floor
        frame = background.copy()
        box = draw_cockroach(frame, np.random.default_rng(1), x, 600.0, 10.0)
        frames.append((frame, box))
    gate.update(frames[0][0], 0.0)
    gate.update(frames[0][0], 1.0)
    result = gate.update(frames[1][0], 2.0)
    assert result.changed and result.run
    (region,) = result.regions
    assert region.width == region.height >= SIZE
    for _, box in frames:  # where it was and where it is now
        assert region.contains(box.x0, box.y0, box.x1, box.y1)


def test_the_gate_on_a_grey_thumbnail_finds_the_cockroach_in_full_frame_pixels() -> None:
    """What the hub feeds it: the sampler's 320 px grey picture and the source size."""
    background = render_scene(1_000_001, size=1280).image
    gate = MotionGate("cam", recheck_s=10)
    boxes = []
    for t, x in enumerate((700.0, 700.0, 725.0)):
        frame = background.copy()
        boxes.append(draw_cockroach(frame, np.random.default_rng(1), x, 600.0, 10.0))
        grey = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (320, 180))
        result = gate.update(grey, float(t), full_size=(1280, 720))
    assert result.changed and result.run
    (region,) = result.regions
    assert region.width == region.height >= SIZE
    assert all(region.contains(b.x0, b.y0, b.x1, b.y1) for b in boxes)
    with pytest.raises(FrameError, match="expected height x width"):
        gate.update(background, 3.0, full_size=(1280, 720))  # a grey picture was promised


def test_far_apart_changes_give_separate_regions_and_the_budget_merges_them() -> None:
    background = render_scene(1_000_000, size=1280).image
    moved = background.copy()
    for x in (100, 1150):
        moved[600:620, x : x + 20] = 255 - moved[600:620, x : x + 20]
    gate = MotionGate("cam")
    gate.update(background, 0.0)
    assert len(gate.update(moved, 1.0).regions) == 2
    tight = MotionGate("cam", max_regions=1)
    tight.update(background, 0.0)
    (whole,) = tight.update(moved, 1.0).regions
    assert whole.x0 <= 100 and whole.x1 >= 1170


def test_regions_beyond_the_per_sample_budget_take_turns() -> None:
    """Four far-apart moving spots, two crops a sample: the two never looked at go next."""
    background = render_scene(1_000_000, size=1280).image
    spots = [(60, 100), (1180, 100), (60, 600), (1180, 600)]

    def moved(t: int) -> np.ndarray:
        frame = background.copy()
        for x, y in spots:  # white, then black, ...: each spot keeps changing
            frame[y : y + 20, x : x + 20] = 255 * (t % 2)
        return frame

    gate = MotionGate("cam", max_regions=4, crops_per_sample=2)
    gate.update(background, 0.0)
    looked: list[set[tuple[int, int]]] = []
    for t in range(1, 5):
        regions = gate.update(moved(t), float(t)).regions
        assert len(regions) == 2
        looked.append({next((x, y) for x, y in spots if r.contains(x, y, x + 20, y + 20))
                       for r in regions})  # fmt: skip
    assert looked[0] | looked[1] == set(spots)  # every spot within two samples
    assert looked[2] == looked[0] and looked[3] == looked[1]  # and then in turn again


def test_a_resolution_change_resets_the_gate(caplog: pytest.LogCaptureFixture) -> None:
    image = render_scene(1_000_000, size=1280).image
    gate = MotionGate("cam-7")
    gate.update(image, 0.0)
    gate.update(image, 1.0)
    smaller = np.ascontiguousarray(image[::2, ::2])
    with caplog.at_level(logging.WARNING):
        after = gate.update(smaller, 2.0)
    assert "camera cam-7: resolution changed from 1280x720 to 640x360" in caplog.text
    assert after.run and after.recheck and not after.changed and after.regions == ()
    assert not gate.update(smaller, 3.0).run
