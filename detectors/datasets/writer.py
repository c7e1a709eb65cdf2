"""Writes a standard YOLO dataset: images/<split>/, labels/<split>/, data.yaml.

Images are copied byte for byte (no re-encoding: what the model trains on is what the source
gave); labels are written in the project's class map, one `cls cx cy w h` line per box.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import yaml

from detectors.scenes.labels import CLASS_NAMES, Box, to_yolo_line

__all__ = ["SEPARATOR", "YoloWriter", "file_name", "source_of"]

# A built file is named <source>__<its path in the source, "/" -> "__">: the source can be told
# from the name alone (bench/realdata.py does), and two sources never collide.
SEPARATOR = "__"


def file_name(source: str, rel: str) -> str:
    return f"{source}{SEPARATOR}{rel.replace('/', SEPARATOR)}"


def source_of(name: str) -> str | None:
    """The source a built file came from, None for a name of another kind."""
    head, sep, _ = name.partition(SEPARATOR)
    return head if sep else None


class YoloWriter:
    """One dataset folder; `splits` are its image subfolders ("" for a flat set)."""

    def __init__(self, root: Path, splits: Iterable[str]) -> None:
        self.root = root
        self.splits = tuple(splits)
        self.images: Counter[str] = Counter()  # per split
        self.boxes: dict[str, Counter[str]] = {s: Counter() for s in self.splits}
        self.tiny = 0  # boxes under 2 px on a side once clipped: not written
        for split in self.splits:
            (root / "images" / split).mkdir(parents=True, exist_ok=True)
            (root / "labels" / split).mkdir(parents=True, exist_ok=True)

    def add(self, split: str, name: str, image: Path, boxes: Iterable[Box], width: int,
            height: int) -> Counter[str]:  # fmt: skip
        """Copies `image` in as `name` (its suffix kept) with its boxes as the label file;
        the boxes written, per class."""
        target = self.root / "images" / split / name
        shutil.copyfile(image, target)
        lines, written = [], Counter[str]()
        for box in boxes:
            line = to_yolo_line(box, width, height)
            if line is None:
                self.tiny += 1
                continue
            lines.append(line)
            written[box.cls] += 1
        self.boxes[split].update(written)
        label = self.root / "labels" / split / Path(name).with_suffix(".txt").name
        label.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        self.images[split] += 1
        return written

    def write_data_yaml(self, train: str | list[str], val: str | list[str]) -> Path:
        data = {"path": str(self.root.resolve()), "train": train, "val": val,
                "names": dict(enumerate(CLASS_NAMES))}  # fmt: skip
        path = self.root / "data.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
        return path
