"""Suppression zones learned from repeated false alarms at the same place (issue 15).

A drain the detector keeps taking for a rat gives false alarms whose boxes pile up at one
spot of one camera's picture. Where at least MIN_FALSE_ALARMS boxes of one rule overlap, the
hub proposes an exclude zone around them (grown by MARGIN); it applies only once a person
accepts it, and a decided place (accepted or turned down) is not proposed again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from hub.config.detection import ViolationType, Zone

from .events import evidence_boxes
from .evidence import TYPE_CLASS
from .geometry import Box, center, expand, iou

__all__ = ["MIN_FALSE_ALARMS", "Proposal", "as_zone", "evidence_box", "propose"]

MIN_FALSE_ALARMS: Final = 3
LOOKBACK_DAYS: Final = 30  # false alarms older than this no longer propose anything
_SAME_PLACE_IOU: Final = 0.3
_MARGIN: Final = 0.1


@dataclass(frozen=True, slots=True)
class Proposal:
    camera_id: str
    type: ViolationType
    box: Box  # normalised to the picture
    false_alarms: int


def evidence_box(detail: str | None, vtype: ViolationType) -> Box | None:
    """Where an event's detector evidence for `vtype` was (the union of its boxes of the
    class the type is seen as), normalised; None when the event has none."""
    boxes = [b for cls, b in evidence_boxes(detail) if cls == TYPE_CLASS[vtype]]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes))  # fmt: skip


def _clamped(b: Box) -> Box:
    x0, y0, x1, y1 = (min(max(v, 0.0), 1.0) for v in b)
    return (x0, y0, x1, y1)


def _same_place(a: Box, b: Box) -> bool:
    cx, cy = center(a)
    return iou(a, b) >= _SAME_PLACE_IOU or (b[0] <= cx <= b[2] and b[1] <= cy <= b[3])


def propose(
    false_alarms: Iterable[tuple[str, ViolationType, Box]],
    decided: Iterable[tuple[str, ViolationType, Box]],
) -> list[Proposal]:
    """Proposals from (camera, type, box) of false alarms, leaving out decided places."""
    places: dict[tuple[str, ViolationType], list[tuple[Box, int]]] = {}
    for camera, vtype, box in false_alarms:
        clusters = places.setdefault((camera, vtype), [])
        for i, (union, n) in enumerate(clusters):
            if _same_place(box, union) or _same_place(union, box):
                clusters[i] = (_union(union, box), n + 1)
                break
        else:
            clusters.append((box, 1))
    done = list(decided)
    out = []
    for (camera, vtype), clusters in places.items():
        for union, n in clusters:
            zone = _clamped(expand(union, _MARGIN))
            taken = any(c == camera and t == vtype and _same_place(zone, b) for c, t, b in done)
            if n >= MIN_FALSE_ALARMS and not taken:
                out.append(Proposal(camera, vtype, zone, n))
    out.sort(key=lambda p: (-p.false_alarms, p.camera_id, p.type))
    return out


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def as_zone(vtype: ViolationType, box: Box) -> Zone:
    """The accepted zone as the judge applies it: an exclude zone for one rule."""
    x0, y0, x1, y1 = box
    points = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return Zone(name=f"误报抑制区 {vtype}", points=points, types=(vtype,), exclude=True)
