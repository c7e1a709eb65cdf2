"""Reads one source's folders: every image decoded, its labels read and mapped to our classes.

What cannot be used is skipped through `Problems` (one line naming the file, a count per
reason); the rest becomes `Sample`s, which hold no pixels, only what the build needs: size,
boxes in project classes, the image's hash and the names that tie copies and frames together.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from detectors.datasets.boxes import LabelBox
from detectors.datasets.dedup import Hash, difference_hash
from detectors.datasets.mapping import DROP, Folder, Role, SourceMapping
from detectors.datasets.problems import (
    BROKEN_IMAGE,
    EMPTY_LABELS,
    NO_LABELS,
    UNMAPPED_LABEL,
    Problems,
    Skip,
)
from detectors.datasets.voc import read_voc
from detectors.datasets.yolo import read_yolo
from detectors.scenes.labels import Box

__all__ = ["IMAGE_SUFFIXES", "Sample", "SourceScan", "read_image", "scan_source"]

# What ultralytics trains on and cv2 decodes.
IMAGE_SUFFIXES: Final = frozenset({".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})
_LABEL_SUFFIX: Final = {"yolo": ".txt", "voc": ".xml"}
# A JPEG's end-of-image marker and a PNG's last chunk: a file cut short decodes without an
# error into a picture whose bottom is grey, while its labels still describe the whole photo.
_ENDINGS: Final = {".jpg": b"\xff\xd9", ".jpeg": b"\xff\xd9", ".png": b"IEND\xaeB`\x82"}
_TAIL_BYTES: Final = 64  # some cameras append a few bytes after the marker


@dataclass(frozen=True, slots=True)
class Sample:
    """One usable labelled image of a source."""

    source: str
    role: Role
    path: Path
    rel: str  # path below the source's folder given on the command line
    width: int
    height: int
    boxes: tuple[Box, ...]  # pixels, project classes
    hash: tuple[Hash, Hash]
    photo_key: str | None  # copies of one photo share it (mapping: same_photo)
    recording_key: str | None  # frames of one video share it (mapping: same_recording)

    @property
    def negative(self) -> bool:
        return not self.boxes


@dataclass
class SourceScan:
    mapping: SourceMapping
    root: Path
    problems: Problems
    samples: list[Sample] = field(default_factory=list)
    found: int = 0  # image files seen
    dropped_labels: Counter[str] = field(default_factory=Counter)  # boxes mapped to drop
    orphan_labels: int = 0  # label files with no image beside them
    missing_folders: list[str] = field(default_factory=list)


def read_image(path: Path) -> tuple[int, int, Hash, Hash]:
    """(width, height, hash, mirrored hash) of an image file; Skip(BROKEN_IMAGE) if it is not
    a whole, decodable picture."""
    ending = _ENDINGS.get(path.suffix.lower())
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            f.seek(max(0, size - _TAIL_BYTES))
            tail = f.read()
    except OSError as err:
        raise Skip(BROKEN_IMAGE, str(err)) from None
    if ending is not None and ending not in tail:
        raise Skip(BROKEN_IMAGE, f"no end marker: the file ({size} bytes) is cut short")
    decoded = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if decoded is None or decoded.size == 0:
        raise Skip(BROKEN_IMAGE, "OpenCV cannot decode it")
    grey = np.asarray(decoded, np.uint8)
    h, w = grey.shape[:2]
    plain, mirrored = difference_hash(grey)
    return w, h, plain, mirrored


def _mapped(mapping: SourceMapping, found: list[LabelBox], width: int, height: int,
            dropped: Counter[str]) -> tuple[Box, ...]:  # fmt: skip
    boxes = []
    for b in found:
        target = mapping.labels.get(b.name)
        if target is None:
            raise Skip(UNMAPPED_LABEL, f"label {b.name!r} (mapped: {', '.join(mapping.labels)})")
        if target == DROP:
            dropped[b.name] += 1
            continue
        boxes.append(Box(target, b.x0 * width, b.y0 * height, b.x1 * width, b.y1 * height))
    return tuple(boxes)


def _sample(scan: SourceScan, folder: Folder, image: Path, label: Path) -> Sample:
    mapping = scan.mapping
    width, height, plain, mirrored = read_image(image)
    if not label.is_file():
        raise Skip(NO_LABELS, f"expected {label}")
    if mapping.format == "voc":
        found = read_voc(label, width, height)
    else:
        found = read_yolo(label, mapping.names)
    if not found and mapping.empty_labels == "skip":
        raise Skip(EMPTY_LABELS, "the mapping skips images with no labels")
    # All-or-nothing: one bad or unknown label and the image goes (see Problems); dropped
    # labels only are counted here, after every label was read.
    dropped: Counter[str] = Counter()
    boxes = _mapped(mapping, found, width, height, dropped)
    scan.dropped_labels.update(dropped)
    return Sample(
        source=mapping.name,
        role=folder.role,
        path=image,
        rel=image.relative_to(scan.root).as_posix(),
        width=width,
        height=height,
        boxes=boxes,
        hash=(plain, mirrored),
        photo_key=mapping.photo_key(image.stem),
        recording_key=mapping.recording_key(image.stem),
    )


def scan_source(mapping: SourceMapping, root: Path, problems: Problems) -> SourceScan:
    """Every image of the mapping's folders under `root`, in sorted order."""
    scan = SourceScan(mapping, root, problems)
    suffix = _LABEL_SUFFIX[mapping.format]
    for folder in mapping.folders:
        images_dir, labels_dir = root / folder.images, root / folder.labels
        if not images_dir.is_dir():
            scan.missing_folders.append(folder.images)
            problems.say(f"{mapping.name}: no folder {images_dir} (mapping {mapping.path})")
            continue
        images = sorted(p for p in images_dir.rglob("*")
                        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())  # fmt: skip
        labelled: set[Path] = set()
        for image in images:
            scan.found += 1
            label = labels_dir / image.relative_to(images_dir).with_suffix(suffix)
            labelled.add(label)
            try:
                scan.samples.append(_sample(scan, folder, image, label))
            except Skip as why:
                problems.skip(image, why)
        if labels_dir.is_dir():
            scan.orphan_labels += sum(1 for p in labels_dir.rglob(f"*{suffix}")
                                      if p not in labelled)  # fmt: skip
    return scan
