"""`bkhub dataset build` on small sets drawn here: real files, real cv2 decoding (no mocks)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from detectors.datasets import SOURCES_DIR, MappingError, Skip, load_mapping
from detectors.datasets.dedup import MAX_DISTANCE, difference_hash
from detectors.datasets.split import side_of
from detectors.datasets.synthetic import mix_synthetic
from detectors.datasets.voc import read_voc
from detectors.datasets.yolo import parse_line
from detectors.scenes import write_dataset
from detectors.scenes.labels import CLASS_NAMES
from hub.cli import main as bkhub
from hub.config.detector import DetectorConfig
from tests.dataset_files import write_image, write_mapping

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / DetectorConfig().model_path
HEX_A, HEX_B, HEX_C = "a" * 32, "b" * 32, "c" * 32
Built = tuple[Path, dict[str, Any], str]  # the build's folder, manifest and stderr


def _picture(seed: int, width: int = 160, height: int = 120) -> np.ndarray:
    """A photo of its own: random filled shapes on a random background."""
    rng = np.random.default_rng(seed)
    img = np.empty((height, width, 3), np.uint8)
    img[:] = rng.integers(0, 256, 3)
    for _ in range(8):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, x1 = sorted(int(v) for v in rng.integers(0, width, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height, 2))
        cv2.rectangle(img, (x0, y0), (x1, y1), colour, -1)
        cv2.circle(img, (int(rng.integers(0, width)), int(rng.integers(0, height))),
                   int(rng.integers(5, 40)), colour, -1)  # fmt: skip
    return img


def _yolo_source(root: Path) -> None:
    """One of each case; the comment says what the build must make of it."""
    img, lab = root / "images", root / "labels"
    lab.mkdir(parents=True)
    labels = {
        "box": "0 0.5 0.5 0.25 0.25\n1 0.2 0.2 0.1 0.1\n",  # kept: a rat, clutter dropped
        "poly": "0 0.1 0.1 0.4 0.12 0.35 0.5 0.12 0.45\n",  # kept: the polygon's box
        "negative": "",  # kept, counted as a negative
        "unmapped": "5 0.5 0.5 0.2 0.2\n",  # skipped: index 5 of 2 names
        "two-point": "0 0.1 0.1 0.1 0.1 0.3 0.3\n",  # skipped: 3 points, 2 distinct
        "outside": "0 1.5 0.5 0.2 0.2\n",  # skipped: box out of range
        "malformed": "0 a b c d\n",  # skipped
        "edge": "0 0.905 0.5 0.2 0.2\n",  # kept: 0.005 over the edge, clipped
        "copy": "0 0.5 0.5 0.25 0.25\n",  # removed: a copy of `box`
    }
    for k, (stem, text) in enumerate(labels.items()):
        picture = _picture(k) if stem != "copy" else cv2.flip(_picture(0), 1)
        quality = 70 if stem == "copy" else 95  # a re-encoded, mirrored copy
        write_image(img / f"{stem}.jpg", picture, cv2.IMWRITE_JPEG_QUALITY, quality)
        (lab / f"{stem}.txt").write_text(text)
    write_image(img / "nolabel.jpg", _picture(20))  # skipped: no label file
    whole = write_image(img / "truncated.jpg", _picture(21)).read_bytes()
    (img / "truncated.jpg").write_bytes(whole[: len(whole) // 2])  # skipped: broken image
    (lab / "truncated.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (img / "garbage.png").write_bytes(b"not a picture at all")  # skipped: broken image
    (lab / "garbage.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (lab / "orphan.txt").write_text("0 0.5 0.5 0.2 0.2\n")  # counted: label without image


def _voc(path: Path, size: tuple[int, int], objects: list[tuple[str, int, int, int, int]]) -> None:
    objs = "".join(f"<object><name>{n}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin>"
                   f"<xmax>{c}</xmax><ymax>{d}</ymax></bndbox></object>"
                   for n, a, b, c, d in objects)  # fmt: skip
    path.write_text(f"<annotation><size><width>{size[0]}</width><height>{size[1]}</height>"
                    f"<depth>3</depth></size>{objs}</annotation>")  # fmt: skip


def _voc_source(root: Path) -> None:
    ann = root / "annotations"
    ann.mkdir(parents=True)
    for k, stem in enumerate(("masked", "bare", "incorrect", "badxml", "resized")):
        write_image(root / "images" / f"{stem}.png", _picture(100 + k))
    _voc(ann / "masked.xml", (160, 120), [("with_mask", 1, 1, 80, 60)])
    _voc(ann / "bare.xml", (160, 120), [("without_mask", 41, 31, 120, 90)])
    _voc(ann / "incorrect.xml", (160, 120), [("mask_weared_incorrect", 1, 1, 20, 20)])
    (ann / "badxml.xml").write_text("<annotation><size>")
    _voc(ann / "resized.xml", (640, 480), [("with_mask", 1, 1, 80, 60)])


def _roboflow_source(root: Path) -> None:
    """Roboflow polygons; p1's two exports are the photo rotated (other pixels, one name)."""
    photo = _picture(200)
    rotated = cv2.warpAffine(photo, cv2.getRotationMatrix2D((80, 60), 15, 1.0), (160, 120))
    for name, image in ((f"p1_jpg.rf.{HEX_A}", photo), (f"p1_jpg.rf.{HEX_B}", rotated),
                        (f"p2_jpg.rf.{HEX_C}", _picture(201))):  # fmt: skip
        write_image(root / "train" / "images" / f"{name}.jpg", image)
        (root / "train" / "labels").mkdir(parents=True, exist_ok=True)
        (root / "train" / "labels" / f"{name}.txt").write_text(
            "0 0.2 0.2 0.6 0.2 0.6 0.7 0.2 0.7\n")  # fmt: skip


def _acceptance_source(root: Path) -> None:
    """Video frames: clip-a_<n> in the referee folder and in train, clip-b only in train;
    train also holds a copy of a referee frame under another name."""
    for folder, frames in (("val", [("clip-a_1", 300)]),
                           ("train", [("clip-a_2", 301), ("clip-b_1", 302), ("clip-b_2", 303),
                                      ("other_1", 300)])):  # fmt: skip
        for stem, seed in frames:
            write_image(root / folder / f"{stem}.jpg", _picture(seed))
            (root / folder / f"{stem}.txt").write_text("0 0.5 0.5 0.3 0.3\n")


def _sources(tmp_path: Path) -> list[str]:
    """The CLI arguments for all fixture sources, one with an unknown format."""
    _yolo_source(tmp_path / "yolo")
    _voc_source(tmp_path / "voc")
    _roboflow_source(tmp_path / "robo")
    _acceptance_source(tmp_path / "accept")
    maps = tmp_path / "maps"
    maps.mkdir()
    yolo = write_mapping(maps / "yolo.yaml")
    voc = write_mapping(maps / "voc.yaml", name="voc-set", format="voc", names=None,
                   labels={"with_mask": "face_mask", "without_mask": "face_bare"},
                   folders=[{"images": "images", "labels": "annotations"}],
                   shown_unboxed=["person"])  # fmt: skip
    robo = write_mapping(maps / "robo.yaml", name="robo", names=["gloves"],
                    labels={"gloves": "hand_gloved"},
                    folders=[{"images": "train/images", "labels": "train/labels"}],
                    same_photo=r"^(.+)_jpg\.rf\.[0-9a-f]{32}$")  # fmt: skip
    accept = write_mapping(maps / "accept.yaml", name="accept", names=["rat"],
                           labels={"rat": "rat"},
                           folders=[{"images": "train", "labels": "train"},
                                    {"images": "val", "labels": "val", "role": "acceptance"}],
                           same_recording=r"^(.+)_\d+$")  # fmt: skip
    odd = write_mapping(maps / "odd.yaml", name="odd", format="coco-json")
    pairs = ((yolo, "yolo"), (voc, "voc"), (robo, "robo"), (odd, "yolo"), (accept, "accept"))
    return [arg for m, d in pairs for arg in ("--source", str(m), str(tmp_path / d))]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """One build of every fixture source through the command line: (out, manifest, stderr)."""
    tmp = tmp_path_factory.mktemp("sources")
    out = tmp / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert bkhub(["dataset", "build", "--out", str(out), "--val", "0.5", *_sources(tmp)]) == 0
    return out, json.loads((out / "manifest.json").read_text()), err.getvalue()


# -- readers ---------------------------------------------------------------------------------


def test_yolo_lines_boxes_and_polygons() -> None:
    box = parse_line("0 0.5 0.5 0.2 0.4", ["rat"], "line 1")
    assert (box.name, box.x0, box.y0, box.x1, box.y1) == pytest.approx(("rat", 0.4, 0.3, 0.6, 0.7))
    poly = parse_line("0 0.1 0.2 0.5 0.25 0.3 0.9", ["rat"], "line 1")
    assert (poly.x0, poly.y0, poly.x1, poly.y1) == pytest.approx((0.1, 0.2, 0.5, 0.9))
    edge = parse_line("0 0.995 0.5 0.02 0.02", ["rat"], "line 1")  # 0.005 over: clipped
    assert edge.x1 == 1.0
    cases = {
        "0 0.5 0.5": "polygon under 3 points",
        "0 0.1 0.1 0.1 0.1 0.4 0.4": "polygon under 3 points",
        "0 0.5 0.5 0.2": "malformed label line",
        "x 0.5 0.5 0.2 0.2": "malformed label line",
        "3 0.5 0.5 0.2 0.2": "label not in the mapping",
        "0 0.5 0.5 1.5 0.2": "box out of range",
        "0 0.5 0.5 0 0.2": "box out of range",
    }
    for line, reason in cases.items():
        with pytest.raises(Skip) as caught:
            parse_line(line, ["rat"], "line 7")
        assert caught.value.reason == reason, line
        assert "line 7" in str(caught.value)


def test_voc_counts_pixels_from_one(tmp_path: Path) -> None:
    _voc(tmp_path / "a.xml", (200, 100), [("with_mask", 1, 1, 200, 100), ("x", 51, 26, 150, 75)])
    full, middle = read_voc(tmp_path / "a.xml", 200, 100)
    assert (full.x0, full.y0, full.x1, full.y1) == (0.0, 0.0, 1.0, 1.0)
    assert (middle.name, middle.x0, middle.y0, middle.x1, middle.y1) == pytest.approx(
        ("x", 0.25, 0.25, 0.75, 0.75))  # fmt: skip
    with pytest.raises(Skip, match="200x100, image 100x100"):
        read_voc(tmp_path / "a.xml", 100, 100)


def test_copies_hash_close_and_other_photos_far(tmp_path: Path) -> None:
    photo = _picture(1, 320, 240)
    write_image(tmp_path / "copy.jpg", cv2.flip(photo, 1), cv2.IMWRITE_JPEG_QUALITY, 60)
    copy = np.asarray(cv2.imread(str(tmp_path / "copy.jpg"), cv2.IMREAD_GRAYSCALE), np.uint8)
    noisy = np.clip(photo.astype(np.int16) + np.random.default_rng(0).integers(-8, 9, photo.shape),
                    0, 255).astype(np.uint8)  # fmt: skip

    def distance(a: np.ndarray, b: np.ndarray) -> int:
        (ha, _), (hb, mb) = difference_hash(a), difference_hash(b)
        return int(min(np.bitwise_count(ha ^ hb).sum(), np.bitwise_count(ha ^ mb).sum()))

    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    assert distance(grey, copy) <= MAX_DISTANCE
    assert distance(grey, cv2.cvtColor(noisy, cv2.COLOR_BGR2GRAY)) <= MAX_DISTANCE
    for seed in range(2, 12):
        other = cv2.cvtColor(_picture(seed, 320, 240), cv2.COLOR_BGR2GRAY)
        assert distance(grey, other) > 3 * MAX_DISTANCE


def test_split_is_stable_and_near_the_fraction() -> None:
    keys = [f"src/photo-{k}.jpg" for k in range(2000)]
    sides = [side_of(k, 0.1) for k in keys]
    assert sides == [side_of(k, 0.1) for k in keys]
    assert 150 < sides.count("val") < 250
    assert side_of("anything", 0.0) == "train"


# -- mapping files ---------------------------------------------------------------------------


def test_mapping_problems_name_the_file(tmp_path: Path) -> None:
    cases: dict[str, tuple[dict[str, object], str]] = {
        "format": ({"format": "coco-json"}, "unknown format 'coco-json' (known: voc, yolo)"),
        "class": ({"labels": {"rat": "mouse"}}, "['mouse'] are neither project classes"),
        "role": ({"folders": [{"images": "i", "labels": "l", "role": "test"}]}, "unknown role"),
        "names": ({"names": None}, "a yolo source needs names"),
        "regex": ({"same_photo": "(a)(b)"}, "may have one group"),
        "typo": ({"lables": {}}, "unknown ['lables']"),
    }
    for stem, (spec, message) in cases.items():
        path = write_mapping(tmp_path / f"{stem}.yaml", **spec)
        with pytest.raises(MappingError) as caught:
            load_mapping(path)
        assert str(path) in str(caught.value) and message in str(caught.value), caught.value
        assert "\n" not in str(caught.value)


def test_shipped_mappings_say_where_each_source_came_from() -> None:
    shipped = {p.stem: load_mapping(p) for p in sorted(SOURCES_DIR.glob("*.yaml"))}
    assert set(shipped) == {"rat-detection", "handgloves-detection", "tfm-mask-detect",
                            "safety-helmets-workwear"}  # fmt: skip
    for name, m in shipped.items():
        assert m.name == name and len(m.commit) == 40 and m.licence and "/" in m.repo
        assert set(m.labels.values()) - {"drop"} <= set(CLASS_NAMES)
    rat = shipped["rat-detection"]
    assert [(f.images, f.role) for f in rat.folders] == [
        ("yolov7/data/train", "split"), ("yolov7/data/val", "acceptance")]  # fmt: skip
    assert rat.recording_key(f"Wild-Mouse-Baby_17785_jpg.rf.{HEX_A}") == "Wild-Mouse-Baby"
    assert rat.recording_key(f"57_jpg.rf.{HEX_A}") is None  # a photo, not a video frame
    helmets = shipped["safety-helmets-workwear"]
    assert helmets.photo_key(f"000002_jpg.rf.{HEX_B}") == "000002"
    assert helmets.labels["wear"] == "drop" and helmets.boxed_classes == (
        "head_chef_hat", "head_bare")  # fmt: skip


# -- the build -------------------------------------------------------------------------------


def test_build_skips_bad_files_by_reason_and_goes_on(built: Built) -> None:
    _, manifest, stderr = built
    yolo = manifest["sources"]["fixture"]
    assert yolo["images_found"] == 12
    assert yolo["skipped"] == {"label not in the mapping": 1, "polygon under 3 points": 1,
                               "box out of range": 1, "malformed label line": 1,
                               "no label file": 1, "broken image": 2}  # fmt: skip
    assert yolo["removed"] == {"near-duplicate": 1}
    assert yolo["dropped_labels"] == {"clutter": 1} and yolo["labels_without_image"] == 1
    assert sum(yolo["kept"].values()) == 4 and sum(yolo["negatives"].values()) == 1
    assert sum(n for split in yolo["boxes"].values() for n in split.values()) == 3  # rats
    voc = manifest["sources"]["voc-set"]
    assert voc["skipped"] == {"label not in the mapping": 1, "unreadable VOC xml": 1,
                              "VOC size is not the image's": 1}  # fmt: skip
    # One line per bad file, naming it; the source with an unknown format is named and left out.
    for f in manifest["skipped_files"]:
        line = next(x for x in stderr.splitlines() if x.startswith(f"skip {f['file']}:"))
        assert f["reason"] in line
    assert "truncated.jpg: broken image: no end marker" in stderr
    assert "unmapped.jpg: label not in the mapping: line 1: class index 5" in stderr
    (odd,) = manifest["skipped_sources"]
    assert odd["reason"] == f"{odd['mapping']}: unknown format 'coco-json' (known: voc, yolo)"
    assert f"skip source {odd['root']}: {odd['reason']}" in stderr


def test_build_writes_a_standard_yolo_set(built: Built) -> None:
    out, manifest, _ = built
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == dict(enumerate(CLASS_NAMES))
    assert (data["train"], data["val"]) == ("images/train", "images/val")
    written = {}
    for split in ("train", "val"):
        for image in (out / "images" / split).iterdir():
            assert cv2.imread(str(image)) is not None
            label = out / "labels" / split / f"{image.stem}.txt"
            written[image.name] = [line.split() for line in label.read_text().splitlines()]
    assert sum(manifest["images"].values()) == len(written)
    assert written["fixture__images__box.jpg"] == [
        ["7", "0.500000", "0.500000", "0.250000", "0.250000"]
    ]
    assert written["fixture__images__negative.jpg"] == []
    (cls, *numbers), = written["fixture__images__poly.jpg"]  # fmt: skip
    assert cls == "7"
    assert [float(v) for v in numbers] == pytest.approx([0.25, 0.3, 0.3, 0.4], abs=1e-6)
    assert written["fixture__images__edge.jpg"] == [
        ["7", "0.902500", "0.500000", "0.195000", "0.200000"]
    ]
    assert written["voc-set__images__bare.png"] == [
        ["4", "0.500000", "0.500000", "0.500000", "0.500000"]
    ]
    # Roboflow copies of one photo under one name: one kept; p2 is another photo.
    robo = sorted(n for n in written if n.startswith("robo__"))
    assert len(robo) == 2 and robo[1] == f"robo__train__images__p2_jpg.rf.{HEX_C}.jpg"
    assert manifest["sources"]["robo"]["removed"] == {"near-duplicate": 1}
    for name, lines in written.items():
        for line in lines:
            assert 0 <= int(line[0]) < len(CLASS_NAMES), name
            assert all(0 <= float(v) <= 1 for v in line[1:]), name


def test_acceptance_never_enters_train_or_val(built: Built) -> None:
    out, manifest, _ = built
    accept = out / "acceptance"
    assert sorted(p.name for p in (accept / "images").iterdir()) == ["accept__val__clip-a_1.jpg"]
    assert (accept / "labels" / "accept__val__clip-a_1.txt").read_text().startswith("7 ")
    own = json.loads((accept / "manifest.json").read_text())
    assert own["images"] == 1 and own["sources"]["accept"]["boxed_classes"] == ["rat"]
    trained = {p.name for p in (out / "images").rglob("*.jpg")}
    # clip-a_2 is another frame of the referee's video, other_1 a copy of its pixels.
    assert {n for n in trained if n.startswith("accept__")} == {
        "accept__train__clip-b_1.jpg", "accept__train__clip-b_2.jpg"}  # fmt: skip
    assert manifest["sources"]["accept"]["removed"] == {"same photo as an acceptance image": 2}
    # Frames of one recording land on one side.
    sides = {p.parent.name for p in (out / "images").rglob("accept__train__clip-b_*.jpg")}
    assert len(sides) == 1


def test_build_is_deterministic_and_refuses_to_overwrite(tmp_path: Path, built: Built) -> None:
    out, manifest, _ = built
    args = ["dataset", "build", "--out", str(out), "--val", "0.5"]
    sources = [manifest["sources"]["fixture"]["mapping"], manifest["sources"]["fixture"]["root"]]
    assert bkhub([*args, "--source", *sources]) == 1  # already built: --force needed
    again = tmp_path / "again"
    assert bkhub(["dataset", "build", "--out", str(again), "--val", "0.5", "--source",
                  *sources]) == 0  # fmt: skip
    first = {p.relative_to(out) for p in (out / "images").rglob("fixture__*")}
    second = {p.relative_to(again) for p in (again / "images").rglob("fixture__*")}
    assert first == second
    with pytest.raises(SystemExit):
        bkhub(["dataset", "build", "--out", str(tmp_path / "x")])  # --source is required
    assert bkhub(["dataset", "build", "--out", str(REPO / "data" / "real"), "--source",
                  *sources]) == 1  # fmt: skip


def test_synthetic_scenes_mix_in_at_the_ratio(tmp_path: Path) -> None:
    scenes = tmp_path / "scenes"
    write_dataset(scenes, count=10, size=320, seed=1_000_000)  # 9 train + 1 val scene, 3 views
    out = tmp_path / "out"
    for split in ("train", "val"):
        (out / "images" / split).mkdir(parents=True)
        (out / "labels" / split).mkdir(parents=True)
    mix = mix_synthetic(out, ratio=0.5, real={"train": 10, "val": 2}, from_dir=scenes, seed=0)
    # ceil(0.5 x 10) = 5 train images -> 2 whole scenes (6 views); ceil(0.5 x 2) = 1 -> 1 scene.
    assert mix.images == {"train": 6, "val": 3}
    names = sorted(p.name for p in (out / "images" / "train").iterdir())
    assert names[0] == "synthetic__scene_1000000_0.jpg" and len(names) == 6
    boxes = sum(len((out / "labels" / "train" / f"{Path(n).stem}.txt").read_text().splitlines())
                for n in names)  # fmt: skip
    assert boxes == sum(mix.boxes["train"].values())


def test_synthetic_scenes_are_rendered_when_no_set_is_given(tmp_path: Path) -> None:
    write_image(tmp_path / "src" / "images" / "one.jpg", _picture(7))
    (tmp_path / "src" / "labels").mkdir()
    (tmp_path / "src" / "labels" / "one.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    mapping = write_mapping(tmp_path / "m.yaml", names=["rat"], labels={"rat": "rat"})
    out = tmp_path / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        args = ["--val", "0", "--synthetic-ratio", "1", "--synthetic-seed", "1000000"]
        assert bkhub(["dataset", "build", "--out", str(out), *args, "--source", str(mapping),
                      str(tmp_path / "src")]) == 0  # fmt: skip
    synthetic = json.loads((out / "manifest.json").read_text())["synthetic"]
    # One real train image asks for one synthetic one: the first whole scene (3 views).
    assert synthetic["images"] == {"train": 3, "val": 0}
    assert synthetic["origin"] == "rendered, seeds 1000000..1000001"
    assert len(list((out / "images" / "train").glob("synthetic__scene_1000000_*.jpg"))) == 3
    assert not list(out.glob(".synthetic-*"))  # the render folder is gone
    assert "rendering 2 synthetic scenes" in err.getvalue()


# -- bench/realdata.py -----------------------------------------------------------------------
