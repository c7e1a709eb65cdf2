"""Pascal VOC annotation files: one XML per image, `<object><name>` with a `<bndbox>`.

VOC counts pixels from 1 with xmax inclusive: pixel box [xmin - 1, xmax) in 0-based
coordinates (an xmin of 0, from tools that count from 0, stays the image's edge). Boxes are
read against the image's own size; an XML whose `<size>` is another picture's is skipped (its
boxes would land in the wrong place).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from detectors.datasets.boxes import LabelBox, checked
from detectors.datasets.problems import BAD_LINE, BAD_XML, SIZE_MISMATCH, Skip

__all__ = ["read_voc"]


def _number(node: ET.Element, tag: str, where: str) -> float:
    text = node.findtext(tag)
    try:
        return float(text or "")
    except ValueError:
        raise Skip(BAD_LINE, f"{where}: <{tag}> is {text!r}, not a number") from None


def read_voc(path: Path, width: int, height: int) -> list[LabelBox]:
    """Every object of the XML as a box in fractions of a width x height image."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        raise Skip(BAD_XML, str(err)) from None
    size = root.find("size")
    if size is not None:
        w, h = (int(_number(size, tag, "<size>")) for tag in ("width", "height"))
        # Some tools write 0 x 0 when they did not know; that is no claim about the image.
        if (w, h) != (0, 0) and (w, h) != (width, height):
            raise Skip(SIZE_MISMATCH, f"<size> {w}x{h}, image {width}x{height}")
    boxes = []
    for n, obj in enumerate(root.iter("object"), 1):
        where = f"object {n}"
        name = (obj.findtext("name") or "").strip()
        bnd = obj.find("bndbox")
        if not name or bnd is None:
            raise Skip(BAD_LINE, f"{where}: no <name> or no <bndbox>")
        x0, y0, x1, y1 = (_number(bnd, tag, where) for tag in ("xmin", "ymin", "xmax", "ymax"))
        # A 0 there is a tool that counts from 0: the image's edge either way.
        x0, y0 = (v - 1 if v >= 1 else v for v in (x0, y0))
        boxes.append(checked(name, x0 / width, y0 / height, x1 / width, y1 / height, where))
    return boxes
