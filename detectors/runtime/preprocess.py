"""Views of a frame as model input: regions, letterboxing, and the way back to frame pixels.

A view is the whole frame or a square region of it, resized (keeping its aspect) to fit the
model's square input and padded with grey 114, as ultralytics trains and exports it. Its
`ViewTransform` maps boxes from model-input pixels back to the full frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from detectors.runtime.errors import FrameError

__all__ = ["PAD_VALUE", "Region", "ViewTransform", "check_frame", "letterbox_into", "square_around"]

Frame = npt.NDArray[np.uint8]
# Ultralytics' letterbox fill: what the model saw around every training image.
PAD_VALUE = 114
# Anything larger than 8K is not a camera frame but a decoding accident.
_MAX_SIDE = 8192


@dataclass(frozen=True, slots=True)
class Region:
    """A window of a frame in full-frame pixels, (x0, y0) inclusive to (x1, y1) exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def clipped(self, width: int, height: int) -> Region | None:
        """This region inside a width x height frame, or None when nothing of it is inside."""
        x0, y0 = max(0, self.x0), max(0, self.y0)
        x1, y1 = min(width, self.x1), min(height, self.y1)
        if x1 <= x0 or y1 <= y0:
            return None
        return Region(x0, y0, x1, y1)

    def union(self, other: Region) -> Region:
        return Region(
            min(self.x0, other.x0), min(self.y0, other.y0),
            max(self.x1, other.x1), max(self.y1, other.y1),
        )  # fmt: skip

    def contains(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        return self.x0 <= x0 and self.y0 <= y0 and x1 <= self.x1 and y1 <= self.y1


def square_around(box: Region, min_side: int, width: int, height: int) -> Region:
    """The smallest square of at least `min_side` holding `box`, moved inside the frame.

    A square cannot be larger than the frame's shorter side; a box larger than that gets
    its own rectangle (clipped to the frame) instead.
    """
    side = max(min_side, box.width, box.height)
    if side > min(width, height):
        if max(box.width, box.height) > min(width, height):
            return box.clipped(width, height) or Region(0, 0, width, height)
        side = min(width, height)
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    x0 = int(np.clip(round(cx - side / 2), 0, width - side))
    y0 = int(np.clip(round(cy - side / 2), 0, height - side))
    return Region(x0, y0, x0 + side, y0 + side)


def check_frame(frame: object, *, grey: bool = False) -> Frame:
    """The frame if it is a usable BGR image (H x W x 3 uint8; H x W with `grey`), else
    FrameError saying why."""
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"frame is a {type(frame).__name__}, not a numpy image")
    if frame.dtype != np.uint8:
        raise FrameError(f"frame has dtype {frame.dtype}, expected uint8")
    if grey and frame.ndim != 2:
        raise FrameError(f"frame has shape {frame.shape}, expected height x width (grey)")
    if not grey and (frame.ndim != 3 or frame.shape[2] != 3):
        raise FrameError(f"frame has shape {frame.shape}, expected height x width x 3 (BGR)")
    h, w = frame.shape[:2]
    if h < 2 or w < 2:
        raise FrameError(f"frame is {w}x{h} pixels: empty")
    if h > _MAX_SIDE or w > _MAX_SIDE:
        raise FrameError(f"frame is {w}x{h} pixels: larger than {_MAX_SIDE} on a side")
    return frame


@dataclass(frozen=True, slots=True)
class ViewTransform:
    """Where a view's model-input pixels come from: frame = (input - pad) / scale + origin."""

    region: Region  # the frame window this view shows
    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float

    def to_frame(self, boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Boxes K x 4 (x0, y0, x1, y1) in model-input pixels to frame pixels, kept in region."""
        out = np.empty_like(boxes)
        r = self.region
        out[:, 0::2] = (boxes[:, 0::2] - self.pad_x) / self.scale_x + r.x0
        out[:, 1::2] = (boxes[:, 1::2] - self.pad_y) / self.scale_y + r.y0
        np.clip(out[:, 0::2], r.x0, r.x1, out=out[:, 0::2])
        np.clip(out[:, 1::2], r.y0, r.y1, out=out[:, 1::2])
        return out


def letterbox_into(
    frame: Frame, region: Region | None, size: int, out: npt.NDArray[np.float32]
) -> ViewTransform:
    """Writes `region` of `frame` (None: all of it) as model input into `out` (3 x size x size).

    Shrinking uses INTER_AREA, as the training images were made; enlarging uses bilinear.
    """
    h, w = frame.shape[:2]
    reg = Region(0, 0, w, h) if region is None else region.clipped(w, h)
    if reg is None:
        raise FrameError(f"region {region} lies outside the {w}x{h} frame")
    window = frame[reg.y0 : reg.y1, reg.x0 : reg.x1]
    r = min(size / reg.width, size / reg.height)
    new_w = max(1, min(size, round(reg.width * r)))
    new_h = max(1, min(size, round(reg.height * r)))
    interp = cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(window, (new_w, new_h), interpolation=interp)
    # Ultralytics' split of the padding: the odd pixel goes to the bottom/right.
    left = round((size - new_w) / 2 - 0.1)
    top = round((size - new_h) / 2 - 0.1)
    canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
    canvas[top : top + new_h, left : left + new_w] = resized
    rgb = cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB)
    np.divide(rgb.transpose(2, 0, 1), 255.0, out=out, dtype=np.float32)
    return ViewTransform(reg, new_w / reg.width, new_h / reg.height, float(left), float(top))
