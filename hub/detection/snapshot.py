"""The event's annotated snapshot: the frame with every detection boxed and labelled, the
violation's evidence in red; and the same frame unannotated, for training on verdicts.
Blocking (OpenCV): call them through asyncio.to_thread."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from detectors.detection import Detection

__all__ = ["SnapshotError", "encode_frame", "render_snapshot"]

Image = npt.NDArray[np.uint8]

_RED: Final = (0, 0, 255)  # BGR
_GREY: Final = (200, 200, 200)
_FONT: Final = cv2.FONT_HERSHEY_SIMPLEX


class SnapshotError(Exception):
    """The frame cannot be drawn on or encoded."""


def _label(
    img: Image, text: str, x: int, y: int, color: tuple[int, int, int], scale: float
) -> None:
    """Text on a filled bar above (x, y), or below it at the top edge."""
    (w, h), base = cv2.getTextSize(text, _FONT, scale, 1)
    top = y - h - base - 4 if y - h - base - 4 >= 0 else y
    cv2.rectangle(img, (x, top), (x + w + 4, top + h + base + 4), color, -1)
    cv2.putText(img, text, (x + 2, top + h + 2), _FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)


def render_snapshot(
    frame: Image,
    detections: Iterable[Detection],
    evidence: Iterable[Detection],
    *,
    title: str,
    quality: int = 85,
) -> bytes:
    """A JPEG of `frame` (BGR) with boxes: `evidence` in red, the other detections grey."""
    if frame.ndim != 3 or frame.shape[0] < 2 or frame.shape[1] < 2 or frame.shape[2] != 3:
        raise SnapshotError(f"cannot draw on a frame of shape {frame.shape}")
    img = np.ascontiguousarray(frame).copy()
    scale = max(0.4, img.shape[1] / 1600)  # readable on 720p and 1080p alike
    thick = max(1, round(img.shape[1] / 640))
    red = list(evidence)
    for det in [d for d in detections if d not in red] + red:
        color = _RED if det in red else _GREY
        x0, y0, x1, y1 = (round(v) for v in (det.x0, det.y0, det.x1, det.y1))
        cv2.rectangle(img, (x0, y0), (x1, y1), color, thick)
        _label(img, f"{det.cls} {det.score:.2f}", x0, y0, color, scale)
    _label(img, title, 0, 0, _RED, scale * 1.2)
    return encode_frame(img, quality=quality)


def encode_frame(frame: Image, *, quality: int) -> bytes:
    """A JPEG of `frame` (BGR) as it is, at full resolution."""
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise SnapshotError("JPEG encoding failed")
    return bytes(data.tobytes())
