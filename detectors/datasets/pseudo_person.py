"""Person boxes for built photos that show people but box none (mapping `shown_unboxed`).

Without them, training on hard-hat and face-mask photos teaches the model that the workers in
them are background. The boxes come from a model that ships with its weights: MediaPipe's pose
(0.10.14, the last release whose wheel carries its .tflite files). MediaPipe pins protobuf < 5
and numpy < 2, which the hub cannot share, so this runs in a venv of its own and needs only
OpenCV, NumPy and MediaPipe (it imports nothing of the project):

    python3 -m venv ~/mpvenv && ~/mpvenv/bin/pip install mediapipe==0.10.14 'numpy<2'
    ~/mpvenv/bin/python detectors/datasets/pseudo_person.py BUILD \
        --source tfm-mask-detect --source safety-helmets-workwear [--heads 1 2 3 4]

For each label file of those sources (train and val) it adds `0 cx cy w h` person lines:
- a photo with head or face boxes (classes --heads): one pose per box, on a crop that a
  standing worker under that head would fill (6 heads wide, 9 tall), kept only if the pose's
  nose falls inside that box, its top raised to the box's;
- otherwise: one pose on the whole photo (a face close-up shows one person).
A person box is the landmarks' extent, padded. A photo where no pose is found keeps its labels
unchanged; counts go to BUILD/pseudo_person.json. The bench never scores person boxes on these
sources (their manifest entry does not box person): only whether a person is found at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import mediapipe as mp  # type: ignore[import-not-found]
import numpy as np

PERSON = 0
_VISIBLE = 0.5
_PAD = 0.08  # of the landmarks' extent: the landmarks sit inside the outline
_NOSE = 0
_SAME = 0.6  # IoU above which two person boxes of one photo are one person

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


def _iou(a: Box, b: Box) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _pose_box(
    pose: object, rgb: np.ndarray, x0: int, y0: int
) -> tuple[Box, tuple[float, float]] | None:
    """The padded landmark extent of the one pose in `rgb` (a crop at x0, y0), and its nose."""
    found = pose.process(rgb)  # type: ignore[attr-defined]
    if found.pose_landmarks is None:
        return None
    h, w = rgb.shape[:2]
    points = [(p.x * w, p.y * h) for p in found.pose_landmarks.landmark if p.visibility > _VISIBLE]
    if len(points) < 5:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    pad_x, pad_y = _PAD * (max(xs) - min(xs)), _PAD * (max(ys) - min(ys))
    box = (
        x0 + max(0.0, min(xs) - pad_x),
        y0 + max(0.0, min(ys) - 2 * pad_y),  # the landmarks stop at the eyes: room for the head
        x0 + min(float(w), max(xs) + pad_x),
        y0 + min(float(h), max(ys) + pad_y),
    )
    nose = found.pose_landmarks.landmark[_NOSE]
    return box, (x0 + nose.x * w, y0 + nose.y * h)


def persons(pose: object, image: np.ndarray, heads: Sequence[Box]) -> list[Box]:
    """Person boxes in `image` (BGR): one per head whose pose is found, or one for the photo."""
    rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    ih, iw = rgb.shape[:2]
    out: list[Box] = []
    if not heads:
        found = _pose_box(pose, rgb, 0, 0)
        return [found[0]] if found else []
    for hx0, hy0, hx1, hy1 in heads:
        hw, hh = hx1 - hx0, hy1 - hy0
        cx = (hx0 + hx1) / 2
        x0, x1 = int(max(0, cx - 3 * hw)), int(min(iw, cx + 3 * hw))
        y0, y1 = int(max(0, hy0 - 0.5 * hh)), int(min(ih, hy0 + 9 * hh))
        if x1 - x0 < 16 or y1 - y0 < 16:
            continue
        found = _pose_box(pose, np.ascontiguousarray(rgb[y0:y1, x0:x1]), x0, y0)
        if found is None:
            continue
        (bx0, by0, bx1, by1), (nx, ny) = found
        # The pose stops at the eyes and ears: the labelled head (or face) is the top.
        box = (min(bx0, hx0), min(by0, hy0), max(bx1, hx1), by1)
        if hx0 <= nx <= hx1 and hy0 <= ny <= hy1 and all(_iou(box, b) < _SAME for b in out):
            out.append(box)
    return out


def _yolo_boxes(lines: Sequence[str], w: int, h: int, classes: set[int]) -> list[Box]:
    boxes = []
    for line in lines:
        parts = line.split()
        if len(parts) == 5 and int(parts[0]) in classes:
            cx, cy, bw, bh = (float(v) for v in parts[1:])
            boxes.append(
                ((cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h)
            )
    return boxes


def label_build(build: Path, sources: Sequence[str], head_classes: set[int]) -> dict[str, int]:
    """Adds person lines to the label files of `sources` in `build`; returns the counts."""
    counts = {"photos": 0, "with_person": 0, "persons": 0, "already_boxed": 0}
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for label in sorted((build / "labels").glob("*/*.txt")):
            if not any(label.name.startswith(f"{s}__") for s in sources):
                continue
            image = next(
                (p for p in (build / "images" / label.parent.name).glob(f"{label.stem}.*")), None
            )
            frame = None if image is None else cv2.imread(str(image), cv2.IMREAD_COLOR)
            if frame is None:
                print(f"skip {label}: no readable image beside it", file=sys.stderr)
                continue
            counts["photos"] += 1
            lines = [ln for ln in label.read_text(encoding="utf-8").splitlines() if ln.strip()]
            if any(ln.split()[0] == str(PERSON) for ln in lines):
                counts["already_boxed"] += 1
                continue
            h, w = frame.shape[:2]
            found = persons(pose, frame, _yolo_boxes(lines, w, h, head_classes))
            if not found:
                continue
            counts["with_person"] += 1
            counts["persons"] += len(found)
            for x0, y0, x1, y1 in found:
                lines.append(f"{PERSON} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} "
                             f"{(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")  # fmt: skip
            label.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", type=Path, help="a `bkhub dataset build` output folder")
    parser.add_argument("--source", action="append", required=True, help="a source's name")
    parser.add_argument("--heads", type=int, nargs="*", default=[1, 2, 3, 4],
                        help="class ids of head and face boxes (head_*, face_*)")  # fmt: skip
    args = parser.parse_args(argv)
    counts = label_build(args.build, args.source, set(args.heads))
    report = {"sources": args.source, "model": f"mediapipe {mp.__version__} pose", **counts}
    (args.build / "pseudo_person.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report))
    return 0 if counts["photos"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
