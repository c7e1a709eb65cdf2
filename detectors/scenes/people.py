"""Kitchen workers drawn with OpenCV primitives, with their person/head/face/hand boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from detectors.scenes.labels import Box

__all__ = ["Worker", "draw_worker", "random_worker"]

Image = np.ndarray
Color = tuple[int, int, int]

# BGR skin tones from light to dark, jittered per worker.
_SKIN: tuple[Color, ...] = (
    (189, 210, 240), (160, 190, 225), (130, 165, 205), (100, 135, 180), (70, 100, 140),
    (50, 70, 100),
)  # fmt: skip
_CLOTHES: tuple[Color, ...] = (
    (245, 245, 245), (235, 235, 230), (40, 40, 40), (150, 90, 40), (60, 60, 150),
    (200, 200, 200), (90, 120, 60), (40, 80, 160),
)  # fmt: skip
_GLOVES: tuple[Color, ...] = ((200, 120, 40), (235, 235, 235), (30, 30, 30), (190, 150, 230))
_MASKS: tuple[Color, ...] = ((240, 240, 240), (220, 190, 140), (40, 40, 40), (235, 215, 170))
_HAIR: tuple[Color, ...] = ((20, 20, 20), (30, 40, 60), (60, 70, 90), (120, 120, 120))


@dataclass(frozen=True, slots=True)
class Worker:
    """Everything that varies between drawn workers."""

    height: float  # person box height in px
    facing_front: bool
    hat: str  # "none", "toque" or "cap" (a disposable mob cap counts as a chef hat)
    mask: bool
    gloves: bool
    skin: Color
    coat: Color
    trousers: Color
    apron: Color | None
    glove_color: Color
    mask_color: Color
    hair: Color
    arm_angles: tuple[float, float, float, float]  # shoulder/elbow angles, both arms, radians
    lean: float  # torso lean in radians


def _pick(rng: np.random.Generator, options: tuple[Color, ...], jitter: int = 12) -> Color:
    base = options[int(rng.integers(len(options)))]
    r, g, b = (int(np.clip(c + rng.integers(-jitter, jitter + 1), 0, 255)) for c in base)
    return (r, g, b)


def random_worker(
    rng: np.random.Generator,
    height: float,
    *,
    hat: bool | None = None,
    mask: bool | None = None,
    gloves: bool | None = None,
) -> Worker:
    """A random worker; hat/mask/gloves forced when given (to balance the classes)."""
    has_hat = bool(rng.random() < 0.6) if hat is None else hat
    pose = int(rng.integers(3))
    if pose == 0:  # arms hanging
        angles = (rng.uniform(-0.3, 0.1), rng.uniform(-0.2, 0.2), rng.uniform(-0.1, 0.3), 0.0)
    elif pose == 1:  # working at a counter: forearms forward and up
        angles = (rng.uniform(-0.6, -0.2), rng.uniform(0.8, 1.4), rng.uniform(0.2, 0.6), -1.1)
    else:  # one arm raised, reaching for a shelf or a ladle
        angles = (rng.uniform(1.8, 2.6), rng.uniform(-0.3, 0.3), rng.uniform(0.0, 0.4), -0.6)
    return Worker(
        height=height,
        facing_front=bool(rng.random() < 0.8),
        hat=("toque" if rng.random() < 0.6 else "cap") if has_hat else "none",
        mask=bool(rng.random() < 0.55) if mask is None else mask,
        gloves=bool(rng.random() < 0.5) if gloves is None else gloves,
        skin=_pick(rng, _SKIN),
        coat=_pick(rng, _CLOTHES),
        trousers=_pick(rng, ((40, 40, 40), (60, 50, 40), (90, 90, 90), (120, 80, 40))),
        apron=_pick(rng, _CLOTHES) if rng.random() < 0.4 else None,
        glove_color=_pick(rng, _GLOVES),
        mask_color=_pick(rng, _MASKS, 6),
        hair=_pick(rng, _HAIR, 8),
        arm_angles=tuple(float(a) for a in angles),  # type: ignore[arg-type]
        lean=float(rng.uniform(-0.12, 0.12)),
    )


def _pt(x: float, y: float) -> tuple[int, int]:
    return (round(x), round(y))


def _limb(img: Image, a: tuple[float, float], b: tuple[float, float], color: Color, t: int) -> None:
    cv2.line(img, _pt(*a), _pt(*b), color, max(1, t), cv2.LINE_AA)


def _arm(
    img: Image, w: Worker, shoulder: tuple[float, float], side: int, t: int
) -> tuple[float, float]:
    """Draws one arm (side -1 left, +1 right) and returns the hand centre."""
    upper, fore = w.height * 0.17, w.height * 0.16
    a1 = w.arm_angles[0] if side < 0 else w.arm_angles[2]
    a2 = w.arm_angles[1] if side < 0 else w.arm_angles[3]
    # Angle 0 hangs straight down; positive swings outward on the worker's side.
    elbow = (shoulder[0] + side * upper * math.sin(a1), shoulder[1] + upper * math.cos(a1))
    a = a1 + a2 if side < 0 else a1 - a2
    hand = (elbow[0] + side * fore * math.sin(a), elbow[1] + fore * math.cos(a))
    _limb(img, shoulder, elbow, w.coat, t)
    _limb(img, elbow, hand, w.coat if w.height < 60 else w.skin, max(1, t * 3 // 4))
    return hand


def _head(img: Image, w: Worker, cx: float, cy: float, r: float) -> list[Box]:
    """Head, face, hat and mask; returns the head box and (facing front) the face box."""
    axes = _pt(r * 0.82, r)
    cv2.ellipse(img, _pt(cx, cy), axes, 0, 0, 360, w.skin if w.facing_front else w.hair, -1)
    top = cy - r
    if w.hat == "toque":
        hat_h = r * 1.3
        cv2.rectangle(img, _pt(cx - r * 0.8, cy - r * 0.9 - hat_h), _pt(cx + r * 0.8, cy - r * 0.6),
                      (245, 245, 245), -1)  # fmt: skip
        cv2.circle(img, _pt(cx, cy - r * 0.9 - hat_h), round(r * 0.9), (250, 250, 250), -1)
        cv2.line(img, _pt(cx - r * 0.8, cy - r * 0.6), _pt(cx + r * 0.8, cy - r * 0.6),
                 (200, 200, 200), 1)  # fmt: skip
        top = cy - r * 1.8 - hat_h
    elif w.hat == "cap":
        cv2.ellipse(img, _pt(cx, cy - r * 0.35), _pt(r * 0.98, r * 0.85), 0, 180, 360,
                    (240, 240, 240), -1)  # fmt: skip
        top = cy - r * 1.2
    elif w.facing_front:
        cv2.ellipse(img, _pt(cx, cy - r * 0.25), _pt(r * 0.86, r * 0.8), 0, 180, 360, w.hair, -1)
        top = cy - r * 1.05
    boxes = [Box("head_chef_hat" if w.hat != "none" else "head_bare",
                 cx - r * 1.0, top, cx + r * 1.0, cy + r)]  # fmt: skip
    if not w.facing_front:
        return boxes
    eye_y, dx = cy - r * 0.1, r * 0.32
    for ex in (cx - dx, cx + dx):
        cv2.circle(img, _pt(ex, eye_y), max(1, round(r * 0.1)), (30, 30, 30), -1)
    if w.mask:
        pts = np.array([_pt(cx - r * 0.75, cy + r * 0.1), _pt(cx + r * 0.75, cy + r * 0.1),
                        _pt(cx + r * 0.6, cy + r * 0.8), _pt(cx, cy + r * 0.95),
                        _pt(cx - r * 0.6, cy + r * 0.8)], np.int32)  # fmt: skip
        cv2.fillPoly(img, [pts], w.mask_color, cv2.LINE_AA)
    else:
        cv2.line(img, _pt(cx - r * 0.25, cy + r * 0.55), _pt(cx + r * 0.25, cy + r * 0.55),
                 (60, 60, 120), max(1, round(r * 0.08)))  # fmt: skip
    boxes.append(Box("face_mask" if w.mask else "face_bare",
                     cx - r * 0.8, cy - r * 0.35, cx + r * 0.8, cy + r))  # fmt: skip
    return boxes


def draw_worker(img: Image, w: Worker, foot_x: float, foot_y: float) -> list[Box]:
    """Draws the worker standing at (foot_x, foot_y); returns every labelled part's box."""
    h = w.height
    r = h * 0.075  # head radius: a slightly big head keeps faces findable at 320 px
    t = max(2, round(h * 0.07))  # limb thickness
    hip = (foot_x, foot_y - h * 0.47)
    neck = (hip[0] + h * 0.33 * math.sin(w.lean), hip[1] - h * 0.33 * math.cos(w.lean))
    for side in (-1, 1):
        _limb(img, (hip[0] + side * h * 0.05, hip[1]), (foot_x + side * h * 0.07, foot_y - t / 2),
              w.trousers, round(t * 1.3))  # fmt: skip
        cv2.ellipse(img, _pt(foot_x + side * h * 0.08, foot_y - t / 2), _pt(t, t / 2), 0, 0, 360,
                    (25, 25, 25), -1)  # fmt: skip
    half = h * 0.11
    torso = np.array([_pt(neck[0] - half, neck[1]), _pt(neck[0] + half, neck[1]),
                      _pt(hip[0] + half * 0.9, hip[1] + h * 0.05),
                      _pt(hip[0] - half * 0.9, hip[1] + h * 0.05)], np.int32)  # fmt: skip
    cv2.fillPoly(img, [torso], w.coat, cv2.LINE_AA)
    if w.apron is not None and w.facing_front:
        apron = np.array([_pt(neck[0] - half * 0.6, neck[1] + h * 0.08),
                          _pt(neck[0] + half * 0.6, neck[1] + h * 0.08),
                          _pt(hip[0] + half * 0.8, hip[1] + h * 0.2),
                          _pt(hip[0] - half * 0.8, hip[1] + h * 0.2)], np.int32)  # fmt: skip
        cv2.fillPoly(img, [apron], w.apron, cv2.LINE_AA)
    cv2.line(img, _pt(neck[0] - half, neck[1]), _pt(neck[0] + half, neck[1]), w.coat, t)
    head_c = (neck[0], neck[1] - r * 1.05)
    boxes = _head(img, w, head_c[0], head_c[1], r)
    hr = max(1.5, h * 0.026)  # hand radius
    points = list(boxes)
    for side in (-1, 1):
        hand = _arm(img, w, (neck[0] + side * half, neck[1] + t / 2), side, t)
        color = w.glove_color if w.gloves else w.skin
        cv2.circle(img, _pt(*hand), round(hr), color, -1, cv2.LINE_AA)
        cv2.circle(img, _pt(hand[0] + side * hr * 0.7, hand[1] - hr * 0.4), round(hr * 0.5),
                   color, -1, cv2.LINE_AA)  # thumb  # fmt: skip
        side_px = hr * 1.3
        name = "hand_gloved" if w.gloves else "hand_bare"
        box = Box(name, hand[0] - side_px, hand[1] - side_px, hand[0] + side_px, hand[1] + side_px)
        boxes.append(box)
        points.append(box)
    body = Box("", foot_x - h * 0.17, boxes[0].y0, foot_x + h * 0.17, foot_y)
    points.append(body)
    person = Box("person", min(b.x0 for b in points), min(b.y0 for b in points),
                 max(b.x1 for b in points), max(b.y1 for b in points))  # fmt: skip
    return [person, *boxes]
