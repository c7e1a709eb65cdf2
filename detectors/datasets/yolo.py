"""YOLO label files: a line is a box `c cx cy w h` or a polygon `c x1 y1 x2 y2 ... xn yn`.

Both in fractions of the image, as ultralytics reads them (5 numbers: a box; an odd count of
7 or more: a polygon, Roboflow's segmentation export). Real sets mix the two in one file; a
polygon stands for its bounding box.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from detectors.datasets.boxes import LabelBox, checked
from detectors.datasets.problems import BAD_LINE, BAD_POLYGON, UNMAPPED_LABEL, Skip

__all__ = ["parse_line", "polygon_box", "read_yolo"]


def polygon_box(name: str, coords: Sequence[float], where: str) -> LabelBox:
    """The bounding box of a polygon given as x1 y1 ... xn yn (at least 3 distinct points)."""
    xs, ys = coords[0::2], coords[1::2]
    if len(set(zip(xs, ys, strict=True))) < 3:
        raise Skip(BAD_POLYGON, f"{where}: {len(xs)} points, {len(set(zip(xs, ys, strict=True)))} "
                                "distinct")  # fmt: skip
    return checked(name, min(xs), min(ys), max(xs), max(ys), where)


def parse_line(line: str, names: Sequence[str], where: str) -> LabelBox:
    """One label line as a box; Skip saying what is wrong with it."""
    tokens = line.split()
    try:
        index = int(tokens[0])
        values = [float(t) for t in tokens[1:]]
    except ValueError:
        raise Skip(BAD_LINE, f"{where}: {line.strip()[:60]!r} is not numbers") from None
    if not 0 <= index < len(names):
        raise Skip(UNMAPPED_LABEL, f"{where}: class index {index}, the mapping names "
                                   f"{len(names)} (0..{len(names) - 1})")  # fmt: skip
    name = names[index]
    if len(values) == 4:
        cx, cy, w, h = values
        return checked(name, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, where)
    if len(values) % 2 or len(values) < 2:
        raise Skip(BAD_LINE, f"{where}: {len(values)} numbers after the class (4 for a box, "
                             "pairs for a polygon)")  # fmt: skip
    return polygon_box(name, values, where)


def read_yolo(path: Path, names: Sequence[str]) -> list[LabelBox]:
    """Every box of a YOLO label file (blank lines ignored); [] for an empty file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise Skip(BAD_LINE, f"cannot read {path.name}: {err}") from None
    return [parse_line(line, names, f"line {n}") for n, line in enumerate(text.splitlines(), 1)
            if line.strip()]  # fmt: skip
