"""One scene: background + workers + pests + camera effects, deterministic from a seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detectors.scenes.backgrounds import Layout, render_background
from detectors.scenes.effects import apply_effects
from detectors.scenes.labels import Box
from detectors.scenes.people import draw_worker, random_worker
from detectors.scenes.pests import draw_cockroach, draw_rat

__all__ = ["NIGHT_SHARE", "Scene", "render_scene"]

Image = np.ndarray

# Rats come out when the kitchen is dark and empty: night scenes are IR, mostly without people.
NIGHT_SHARE = 0.2
_MAX_WORKERS = 4


@dataclass(frozen=True, slots=True)
class Scene:
    image: Image  # BGR uint8, height x width x 3
    boxes: tuple[Box, ...]  # clipped to the image
    night: bool


def _overlaps(box: Box, others: list[Box]) -> bool:
    return any(box.x0 < o.x1 and o.x0 < box.x1 and box.y0 < o.y1 and o.y0 < box.y1 for o in others)


def _behind_counter(img: Image, rng: np.random.Generator, layout: Layout, x: float) -> list[Box]:
    """A worker at the stove behind the counter: legs hidden, only the visible parts labelled."""
    if layout.occluder is None or layout.counter_top is None:
        return []
    h = img.shape[0]
    counter_h = layout.floor_top - layout.counter_top[0]
    height = 2 * counter_h * float(rng.uniform(0.95, 1.2))  # the counter top is at hip height
    before = img.copy()
    parts = draw_worker(img, random_worker(rng, height), x, layout.floor_top - 0.01 * h)
    occ = layout.occluder
    img[occ] = before[occ]
    visible = np.any(img != before, axis=2)
    ys, xs = np.nonzero(visible)
    if len(xs) == 0:
        return []
    kept: list[Box] = []
    for part in parts[1:]:
        x0, y0 = max(0, int(part.x0)), max(0, int(part.y0))
        window = occ[y0 : max(y0 + 1, int(part.y1)), x0 : max(x0 + 1, int(part.x1))]
        if window.size and window.mean() < 0.4:  # mostly hidden parts are not labelled
            kept.append(part)
    # The person box is what shows above the counter, grown to hold its labelled parts.
    person = Box(
        "person",
        min([float(xs.min())] + [b.x0 for b in kept]),
        min([float(ys.min())] + [b.y0 for b in kept]),
        max([float(xs.max() + 1)] + [b.x1 for b in kept]),
        max([float(ys.max() + 1)] + [b.y1 for b in kept]),
    )
    return [person, *kept]


def _workers(img: Image, rng: np.random.Generator, layout: Layout, count: int) -> list[Box]:
    h, w = img.shape[:2]
    boxes: list[Box] = []
    # One column slot per worker, so a nearer worker does not hide a labelled hand or face.
    slots = rng.permutation(count)
    feet: list[tuple[float, float, int]] = []
    for i in range(count):
        x = (slots[i] + rng.uniform(0.25, 0.75)) * w / count
        y = rng.uniform(layout.floor_top + 0.08 * h, 1.08 * h)
        feet.append((float(x), float(y), i))
    if layout.occluder is not None and count and rng.random() < 0.5:
        x, _, _ = feet.pop()
        boxes.extend(_behind_counter(img, rng, layout, x))
    for x, y, _ in sorted(feet, key=lambda f: f[1]):  # far ones first
        depth = (y - layout.floor_top) / max(1.0, h - layout.floor_top)
        height = h * float(rng.uniform(0.5, 0.85)) * (0.55 + 0.45 * min(1.0, depth))
        worker = random_worker(rng, height)
        boxes.extend(draw_worker(img, worker, x, y))
    return boxes


def _pest_spot(rng: np.random.Generator, layout: Layout, w: int, h: int) -> tuple[float, float]:
    if layout.counter_top is not None and rng.random() < 0.35:
        x0, x1 = layout.counter_x
        top, surf = layout.counter_top
        return float(rng.uniform(x0 + 5, max(x0 + 6, x1 - 5))), float(rng.uniform(top, surf))
    return float(rng.uniform(0.03 * w, 0.97 * w)), float(rng.uniform(layout.floor_top + 4, h - 4))


def _pests(img: Image, rng: np.random.Generator, layout: Layout, avoid: list[Box]) -> list[Box]:
    h, w = img.shape[:2]
    boxes: list[Box] = []
    kinds = []
    if rng.random() < 0.7:  # rats are the rarer, harder class: show them more often
        kinds.append("rat")
    kinds += ["cockroach"] * int(rng.integers(0 if kinds else 1, 4))
    for kind in kinds:
        for _ in range(5):  # a few tries to keep pests off workers (they would hide them)
            x, y = _pest_spot(rng, layout, w, h)
            depth = 0.6 + 0.6 * (y / h)  # nearer the camera, bigger
            if kind == "rat":
                size = w * float(rng.uniform(0.035, 0.07)) * depth
                probe = Box(kind, x - size, y - size / 2, x + size, y + size / 2)
            else:
                size = w * float(rng.uniform(0.007, 0.018)) * depth
                probe = Box(kind, x - size, y - size, x + size, y + size)
            if not _overlaps(probe, avoid + boxes):
                draw = draw_rat if kind == "rat" else draw_cockroach
                boxes.append(draw(img, rng, x, y, size))
                break
    return boxes


def render_scene(seed: int, *, size: int = 640, footage: list[Image] | None = None) -> Scene:
    """Renders scene `seed` at `size` px wide and 16:9 (the cameras' aspect)."""
    rng = np.random.default_rng(seed)
    width, height = size, round(size * 9 / 16)
    img, layout = render_background(rng, width, height, footage)
    night = bool(rng.random() < NIGHT_SHARE)
    n_workers = int(rng.integers(0, 2)) if night else int(rng.integers(0, _MAX_WORKERS + 1))
    boxes = _workers(img, rng, layout, n_workers) if n_workers else []
    pests = _pests(img, rng, layout, boxes) if night or rng.random() < 0.45 else []
    image = apply_effects(img, rng, night=night)
    clipped = [c for b in [*boxes, *pests] if (c := b.clipped(width, height)) is not None]
    return Scene(image, tuple(clipped), night)
