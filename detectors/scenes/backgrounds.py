"""Kitchen backgrounds: tiled wall, steel counters, stoves, sinks, tiled floor in perspective."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from camera_adapters.simulator.media import SAMPLE_VIDEOS

__all__ = ["Layout", "load_footage", "render_background"]

Image = np.ndarray

# Frames of the shared sample videos that show NO people: a frame with an unlabelled person
# would teach the model that people are background.
_FOOTAGE_FRAMES: dict[str, tuple[int, ...]] = {
    "one-by-one-person-detection.mp4": (0, 3, 6),
    "fruit-and-vegetable-detection.gif": (0,),
}
# BGR: canteen walls are white or pale tile; floors grey, terracotta or beige anti-slip tile.
_WALLS = ((232, 232, 228), (215, 220, 215), (225, 215, 200), (205, 215, 225), (210, 225, 210))
_FLOORS = ((120, 125, 130), (70, 90, 150), (150, 170, 185), (90, 95, 100), (60, 75, 110))


@dataclass(frozen=True, slots=True)
class Layout:
    """Where things may stand in a background (pixel rows and columns)."""

    floor_top: int  # first row of floor: workers' feet and floor pests go below it
    counter_top: tuple[int, int] | None  # rows of the counter's top surface, if any
    counter_x: tuple[int, int]  # columns the counter spans
    # Pixels of the counter (top and front) that hide a worker standing behind it.
    occluder: np.ndarray | None = field(default=None, compare=False, repr=False)


def load_footage(sample_dir: Path | None = None) -> list[Image]:
    """Person-free frames of the real sample videos; empty when the folder is absent."""
    folder = sample_dir or SAMPLE_VIDEOS
    frames: list[Image] = []
    for name, indices in _FOOTAGE_FRAMES.items():
        path = folder / name
        if not path.is_file():
            continue
        cap = cv2.VideoCapture(str(path))
        try:
            for index in indices:
                cap.set(cv2.CAP_PROP_POS_FRAMES, index)
                ok, frame = cap.read()
                if ok and frame is not None:
                    frames.append(frame)
        finally:
            cap.release()
    return frames


def _color(rng: np.random.Generator, base: tuple[int, int, int], spread: int) -> tuple[int, ...]:
    return tuple(int(np.clip(c + rng.integers(-spread, spread + 1), 0, 255)) for c in base)


def _tiles(img: Image, rng: np.random.Generator, y0: int, y1: int, tile: int) -> None:
    """Square wall tiles with grout lines and slight per-tile shading."""
    base = _color(rng, _WALLS[int(rng.integers(len(_WALLS)))], 10)
    grout = _color(rng, (170, 170, 165), 25)
    img[y0:y1] = base
    for y in range(y0, y1, tile):
        for x in range(0, img.shape[1], tile):
            shade = int(rng.integers(-8, 9))
            color = tuple(int(np.clip(c + shade, 0, 255)) for c in base)
            cv2.rectangle(img, (x, y), (x + tile, min(y + tile, y1)), color, -1)
            cv2.rectangle(img, (x, y), (x + tile, min(y + tile, y1)), grout, 1)


def _floor(img: Image, rng: np.random.Generator, y0: int) -> None:
    """Floor tiles whose seams converge to a vanishing point above the image."""
    h, w = img.shape[:2]
    base = _color(rng, _FLOORS[int(rng.integers(len(_FLOORS)))], 12)
    img[y0:] = base
    seam = tuple(max(0, c - 35) for c in base)
    vx = w * float(rng.uniform(0.3, 0.7))
    vy = y0 - h * float(rng.uniform(0.5, 1.5))
    for i in range(-12, 25):
        xb = i * w / 12
        xt = vx + (xb - vx) * (y0 - vy) / (h - vy)
        cv2.line(img, (int(xt), y0), (int(xb), h), seam, 1, cv2.LINE_AA)
    y, step = float(y0), h * 0.03
    while y < h:
        cv2.line(img, (0, int(y)), (w, int(y)), seam, 1)
        y += step
        step *= 1.35  # rows grow toward the camera


def _counter(img: Image, rng: np.random.Generator, x0: int, x1: int, top: int, bottom: int) -> int:
    """A stainless counter; returns the row where its top surface ends."""
    depth = max(4, (bottom - top) // 4)
    steel = np.linspace(205, 150, depth).astype(np.uint8)
    img[top : top + depth, x0:x1] = steel[:, None, None]
    body = np.linspace(175, 120, bottom - top - depth).astype(np.uint8)
    img[top + depth : bottom, x0:x1] = body[:, None, None]
    for x in range(x0, x1, max(20, (x1 - x0) // int(rng.integers(2, 5)))):
        cv2.line(img, (x, top + depth), (x, bottom), (95, 95, 95), 1)  # cabinet doors
    cv2.line(img, (x0, top + depth), (x1, top + depth), (235, 235, 235), 1)  # lit edge
    return top + depth


def _stove(img: Image, rng: np.random.Generator, x0: int, x1: int, top: int, surf: int) -> None:
    cv2.rectangle(img, (x0, top), (x1, surf), (45, 45, 48), -1)
    n = int(rng.integers(1, 4))
    for i in range(n):
        cx = x0 + (2 * i + 1) * (x1 - x0) // (2 * n)
        rx, ry = max(3, (x1 - x0) // (3 * n)), max(2, (surf - top) // 3)
        cv2.ellipse(img, (cx, (top + surf) // 2), (rx, ry), 0, 0, 360, (20, 20, 20), -1)
        if rng.random() < 0.5:  # a wok or a pot on the burner
            color = _color(rng, (60, 60, 70), 30)
            cv2.ellipse(img, (cx, top), (rx, ry * 2), 0, 180, 360, color, -1)
    hood_y = max(0, top - (surf - top) * 6)
    pts = np.array([[x0 - 8, hood_y + 14], [x1 + 8, hood_y + 14], [x1, hood_y], [x0, hood_y]])
    cv2.fillPoly(img, [pts.astype(np.int32)], (180, 182, 185))


def _sink(img: Image, x0: int, x1: int, top: int, surf: int) -> None:
    cv2.rectangle(img, (x0, top + 1), (x1, surf - 1), (110, 112, 115), -1)
    cv2.rectangle(img, (x0, top + 1), (x1, surf - 1), (80, 80, 80), 1)
    fx = (x0 + x1) // 2
    cv2.line(img, (fx, top), (fx, top - (surf - top) * 2), (200, 200, 205), 3)
    cv2.line(
        img, (fx, top - (surf - top) * 2), (fx + 10, top - (surf - top) * 2), (200, 200, 205), 3
    )


def _shelf(img: Image, rng: np.random.Generator, w: int, y: int) -> None:
    cv2.rectangle(img, (0, y), (w, y + 4), (170, 170, 175), -1)
    x = int(rng.integers(0, 30))
    while x < w:  # pots, boxes and bottles on the shelf
        bw, bh = int(rng.integers(8, 30)), int(rng.integers(8, 30))
        cv2.rectangle(img, (x, y - bh), (x + bw, y), _color(rng, (140, 140, 140), 100), -1)
        x += bw + int(rng.integers(4, 40))


def _clutter(
    img: Image, rng: np.random.Generator, floor_top: int, counter: tuple[int, int]
) -> None:
    """Unlabelled look-alikes (drains, stains, scraps), so small dark blobs are not all pests."""
    h, w = img.shape[:2]
    if rng.random() < 0.5:  # floor drain grate
        x, y = int(rng.integers(w)), int(rng.integers(floor_top + 5, h))
        dw, dh = max(4, w // 25), max(2, w // 60)
        cv2.rectangle(img, (x, y), (x + dw, y + dh), (70, 70, 70), -1)
        for gx in range(x + 2, x + dw, 3):
            cv2.line(img, (gx, y), (gx, y + dh), (40, 40, 40), 1)
    for _ in range(int(rng.integers(0, 5))):
        on_counter = rng.random() < 0.3
        y = int(rng.integers(*counter)) if on_counter else int(rng.integers(floor_top + 2, h))
        x, r = int(rng.integers(w)), int(rng.integers(1, max(2, w // 70)))
        tone = int(rng.integers(20, 120))
        color = (tone, tone + int(rng.integers(0, 30)), tone + int(rng.integers(0, 50)))
        axes = (r + int(rng.integers(0, 3)), r)
        cv2.ellipse(img, (x, y), axes, float(rng.uniform(0, 180)), 0, 360, color, -1, cv2.LINE_AA)


def _perspective(img: Image, mask: Image, rng: np.random.Generator) -> tuple[Image, Image]:
    """A mild keystone, as from a camera mounted high in a corner (the mask moves along)."""
    h, w = img.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    jitter = rng.uniform(-0.04, 0.04, size=(4, 2)) * [w, h]
    dst = (src + jitter).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(img, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    moved = cv2.warpPerspective(mask, matrix, (w, h), flags=cv2.INTER_NEAREST)
    return np.asarray(warped), np.asarray(moved)


def render_background(
    rng: np.random.Generator, width: int, height: int, footage: list[Image] | None = None
) -> tuple[Image, Layout]:
    """A kitchen background and where workers and pests may go in it."""
    if footage and rng.random() < 0.25:
        frame = footage[int(rng.integers(len(footage)))]
        img = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            img = np.ascontiguousarray(img[:, ::-1])
        # Both stored scenes have their floor or belt in the lower ~40 %.
        return img, Layout(int(height * 0.62), None, (0, width))

    img = np.zeros((height, width, 3), np.uint8)
    floor_top = int(height * rng.uniform(0.45, 0.6))
    _tiles(img, rng, 0, floor_top, int(rng.integers(max(6, height // 40), max(8, height // 14))))
    _floor(img, rng, floor_top)
    if rng.random() < 0.6:
        _shelf(img, rng, width, int(floor_top * rng.uniform(0.2, 0.4)))
    ctop = floor_top - int(height * rng.uniform(0.12, 0.2))
    cbottom = floor_top + int(height * rng.uniform(0.0, 0.04))
    cx0 = int(width * rng.uniform(0.0, 0.3))
    cx1 = int(width * rng.uniform(0.7, 1.0))
    surf = _counter(img, rng, cx0, cx1, ctop, cbottom)
    span = cx1 - cx0
    sx = cx0 + int(span * rng.uniform(0.05, 0.4))
    _stove(img, rng, sx, sx + int(span * rng.uniform(0.2, 0.35)), ctop, surf)
    if rng.random() < 0.7:
        kx = cx0 + int(span * rng.uniform(0.65, 0.8))
        _sink(img, kx, kx + int(span * 0.15), ctop, surf)
    _clutter(img, rng, floor_top, (ctop, surf))
    mask = np.zeros((height, width), np.uint8)
    mask[ctop:cbottom, cx0:cx1] = 1
    if rng.random() < 0.7:
        img, mask = _perspective(img, mask, rng)
    return img, Layout(cbottom, (ctop, surf), (cx0, cx1), mask.astype(bool))
