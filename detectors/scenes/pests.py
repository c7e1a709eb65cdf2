"""Rats and cockroaches: small dark shapes on floors and counters, with their boxes."""

from __future__ import annotations

import math

import cv2
import numpy as np

from detectors.scenes.labels import Box

__all__ = ["draw_cockroach", "draw_rat"]

Image = np.ndarray
# Grey levels a pest's body differs from the floor around it at least: what an annotator could
# still see. A rat drawn in the floor's own grey was labelled but invisible (only its ears
# showed), worst in infrared, where colour no longer tells them apart.
_MIN_CONTRAST = 40


def _rot(cx: float, cy: float, dx: float, dy: float, angle: float) -> tuple[int, int]:
    c, s = math.cos(angle), math.sin(angle)
    return (round(cx + dx * c - dy * s), round(cy + dx * s + dy * c))


def _shade(rng: np.random.Generator, base: tuple[int, int, int]) -> tuple[int, int, int]:
    k = float(rng.uniform(0.7, 1.3))
    b, g, r = (int(np.clip(c * k, 0, 255)) for c in base)
    return (b, g, r)


def _luma(bgr: tuple[float, float, float] | np.ndarray) -> float:
    b, g, r = (float(c) for c in bgr)
    return 0.114 * b + 0.587 * g + 0.299 * r


def _visible(img: Image, color: tuple[int, int, int], cx: float, cy: float,
             radius: float) -> tuple[int, int, int]:  # fmt: skip
    """`color` made at least _MIN_CONTRAST darker or lighter than the floor around (cx, cy):
    darker where the floor is light enough, else lighter (as fur looks under IR light)."""
    h, w = img.shape[:2]
    r = max(2, round(radius))
    x, y = round(cx), round(cy)
    patch = img[max(0, y - r) : min(h, y + r), max(0, x - r) : min(w, x + r)]
    if patch.size == 0:
        return color
    floor, own = _luma(patch.reshape(-1, 3).mean(axis=0)), _luma(color)
    if abs(own - floor) >= _MIN_CONTRAST:
        return color
    target = floor - _MIN_CONTRAST if floor >= _MIN_CONTRAST + 20 else floor + _MIN_CONTRAST
    k = target / max(own, 1.0)
    b, g, r_ = (int(np.clip(c * k, 0, 255)) for c in color)
    return (b, g, r_)


def draw_rat(img: Image, rng: np.random.Generator, cx: float, cy: float, length: float) -> Box:
    """A rat seen from above-front: body, head, ears and tail. `length` excludes the tail."""
    # A top-down view foreshortens vertically; floors seen from a wall camera squash rats ~0.6.
    angle = float(rng.uniform(-0.5, 0.5)) + (math.pi if rng.random() < 0.5 else 0.0)
    bl, bw = length * 0.6, length * 0.2
    color = _visible(img, _shade(rng, (70, 80, 95)), cx, cy, bl)
    body = _rot(cx, cy, 0, 0, angle)
    cv2.ellipse(img, body, (round(bl / 2), max(1, round(bw))), math.degrees(angle), 0, 360,
                color, -1, cv2.LINE_AA)  # fmt: skip
    head = _rot(cx, cy, bl * 0.55, 0, angle)
    cv2.ellipse(img, head, (max(1, round(length * 0.16)), max(1, round(bw * 0.7))),
                math.degrees(angle), 0, 360, color, -1, cv2.LINE_AA)  # fmt: skip
    for side in (-1, 1):
        ear = _rot(cx, cy, bl * 0.45, side * bw * 0.7, angle)
        cv2.circle(img, ear, max(1, round(bw * 0.35)), _shade(rng, (120, 130, 160)), -1)
    tail_pts = [_rot(cx, cy, -bl * 0.5 - i * length * 0.1, math.sin(i) * bw * 0.5, angle)
                for i in range(8)]  # fmt: skip
    cv2.polylines(img, [np.array(tail_pts, np.int32)], False, (110, 120, 150), 1, cv2.LINE_AA)
    # The box holds the body, head and ears: the tail is a 1 px line that vanishes at a
    # distance, and boxes stretched over it taught the model nothing it could see.
    reach = [_rot(cx, cy, dx, dy, angle) for dx in (-bl / 2, bl * 0.55 + length * 0.16)
             for dy in (-bw, bw)]  # fmt: skip
    xs = [p[0] for p in reach]
    ys = [p[1] for p in reach]
    return Box("rat", min(xs) - 1, min(ys) - 1, max(xs) + 2, max(ys) + 2)


def draw_cockroach(
    img: Image, rng: np.random.Generator, cx: float, cy: float, length: float
) -> Box:
    """A cockroach: glossy brown oval with legs and antennae, a few pixels long."""
    angle = float(rng.uniform(0, 2 * math.pi))
    half_l, half_w = max(1.0, length / 2), max(1.0, length * 0.22)
    color = _visible(img, _shade(rng, (20, 45, 85)), cx, cy, 2 * half_l)
    cv2.ellipse(img, (round(cx), round(cy)), (round(half_l), round(half_w)), math.degrees(angle),
                0, 360, color, -1, cv2.LINE_AA)  # fmt: skip
    points = [_rot(cx, cy, sx * half_l, sy * half_w, angle) for sx in (-1, 1) for sy in (-1, 1)]
    if length >= 6:  # legs and antennae only show when there are pixels for them
        for i in (-1, 0, 1):
            for side in (-1, 1):
                a = _rot(cx, cy, i * half_l * 0.5, 0, angle)
                b = _rot(cx, cy, i * half_l * 0.7, side * half_w * 2.2, angle)
                cv2.line(img, a, b, color, 1, cv2.LINE_AA)
                points.append(b)
        for side in (-1, 1):
            tip = _rot(cx, cy, half_l * 1.8, side * half_w * 1.5, angle)
            cv2.line(img, _rot(cx, cy, half_l, 0, angle), tip, color, 1, cv2.LINE_AA)
            points.append(tip)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return Box("cockroach", min(xs) - 1, min(ys) - 1, max(xs) + 2, max(ys) + 2)
