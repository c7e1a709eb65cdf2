"""One sample's evidence: detections -> tracks -> (track, violation) observations.

Persons and pests are tracked. A part (head, face, hand) belongs to the person track whose
box holds it (the last known box, so a person the detector missed this once still gets its
parts); a part no person holds is tracked on its own, so a bare head above a counter still
counts. Each live track then says, for each rule that applies, whether it shows the
violation now, judged at its reference point against the camera's zones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

from detectors.detection import Detection
from hub.config.detection import HYGIENE, ViolationType, Zone

from .geometry import (
    Box,
    box_of,
    center,
    containment,
    expand,
    inside_polygon,
    iou,
    overlap_of_smaller,
)
from .tracker import Track, Tracker

__all__ = ["TYPE_CLASS", "Observation", "ZoneFilter", "observe"]

# part class -> (family, bare class, covered class)
_FAMILY: Final = {
    "head_bare": "head",
    "head_chef_hat": "head",
    "face_bare": "face",
    "face_mask": "face",
    "hand_bare": "hand",
    "hand_gloved": "hand",
}
_BARE: Final = {"head": "head_bare", "face": "face_bare", "hand": "hand_bare"}
_COVERED: Final = {"head": "head_chef_hat", "face": "face_mask", "hand": "hand_gloved"}
FAMILY_TYPE: Final = {
    "head": ViolationType.NO_CHEF_HAT,
    "face": ViolationType.NO_MASK,
    "hand": ViolationType.NO_GLOVES,
}
PEST_TYPE: Final = {"rat": ViolationType.RAT, "cockroach": ViolationType.COCKROACH}
# The detector class that shows each violation (a miss is boxed as it; a false alarm was it).
TYPE_CLASS: Final = {
    **{vtype: _BARE[family] for family, vtype in FAMILY_TYPE.items()},
    **{vtype: cls for cls, vtype in PEST_TYPE.items()},
}
_ATTACH_MIN: Final = 0.6  # share of a part inside a person's box (grown 10 %) to belong to it
_SAME_PART_IOU: Final = 0.3  # orphan boxes overlapping this much are one part
_SAME_PART_SHARE: Final = 0.5  # a bare box this much inside a covered one (or back) is one part
# A bare part counts only when it outscores a covered guess of the same part by this much:
# a head the detector calls both bare and hatted is not evidence of a bare head.
_AMBIGUOUS: Final = 0.1
# Heads and faces sit in the top part of a person's box, standing, bending or behind a
# counter (the box then ends at the counter); lower down they are hands, pans, stains.
_UPPER: Final = frozenset({"head", "face"})
_UPPER_SHARE: Final = 0.4


@dataclass(frozen=True, slots=True)
class Observation:
    """Whether a track shows a violation in this sample."""

    track: str
    vtype: ViolationType
    seen: bool
    score: float  # the strongest evidence's score when seen, else 0
    evidence: tuple[Detection, ...]  # the subject's box and the violating parts


class ZoneFilter:
    """Which rule counts where: include zones narrow a rule, exclude zones remove areas."""

    def __init__(self, zones: Iterable[Zone]) -> None:
        self._zones = tuple(zones)

    def counts(self, vtype: ViolationType, x: float, y: float) -> bool:
        """`x`, `y` in fractions of the picture (0..1)."""
        mine = [z for z in self._zones if not z.types or vtype in z.types]
        if any(z.exclude and inside_polygon(x, y, z.points) for z in mine):
            return False
        include = [z for z in mine if not z.exclude]
        return not include or any(inside_polygon(x, y, z.points) for z in include)


def _reference(track: Track, size: tuple[int, int]) -> tuple[float, float]:
    """A person stands at the bottom centre of its box; anything else is at its centre."""
    x0, _y0, x1, y1 = track.box
    x, y = ((x0 + x1) / 2, y1) if track.kind == "person" else center(track.box)
    return x / max(size[0], 1), y / max(size[1], 1)


def _owner(part: Box, family: str, persons: list[Track]) -> tuple[Track | None, bool]:
    """(the person holding the part, whether any person's box holds it). Of several, the
    owner is the one whose centre line is nearest; a head or face held below the top of every
    box holding it has no owner (a "head" at a person's waist is something else)."""
    best: tuple[float, Track] | None = None
    held = False
    for person in persons:
        if containment(part, expand(person.box, 0.1)) < _ATTACH_MIN:
            continue
        held = True
        x0, y0, x1, y1 = person.box
        if family in _UPPER and center(part)[1] > y0 + (y1 - y0) * _UPPER_SHARE:
            continue
        offset = abs(center(part)[0] - (x0 + x1) / 2) / max(x1 - x0, 1.0)
        if best is None or offset < best[0]:
            best = (offset, person)
    return (None if best is None else best[1]), held


def _violating(family: str, parts: list[Detection], min_score: float) -> list[Detection]:
    """Bare parts that clearly outscore every covered box of the same part."""
    covered = [p for p in parts if p.cls == _COVERED[family]]
    return [
        p
        for p in parts
        if p.cls == _BARE[family]
        and p.score >= min_score
        and not any(
            overlap_of_smaller(box_of(p), box_of(c)) >= _SAME_PART_SHARE
            and c.score >= p.score - _AMBIGUOUS
            for c in covered
        )
    ]


def _clusters(parts: list[Detection]) -> list[list[Detection]]:
    """Group a family's orphan boxes so a head seen as both bare and hatted is one head."""
    groups: list[list[Detection]] = []
    for part in sorted(parts, key=lambda p: -p.score):
        for group in groups:
            if iou(box_of(part), box_of(group[0])) > _SAME_PART_IOU:
                group.append(part)
                break
        else:
            groups.append([part])
    return groups


def observe(
    tracker: Tracker,
    detections: list[Detection],
    *,
    at: float,
    size: tuple[int, int],
    rules: frozenset[ViolationType],
    zones: ZoneFilter,
    min_score: Callable[[ViolationType], float],
) -> list[Observation]:
    """Update `tracker` with one sample and say what every live track shows (`rules` only)."""
    by_kind: dict[str, list[Detection]] = {}
    for det in detections:
        by_kind.setdefault(det.cls, []).append(det)
    tracker.update("person", by_kind.get("person", []), at)
    for pest in PEST_TYPE:
        tracker.update(pest, by_kind.get(pest, []), at)
    persons = tracker.alive("person")
    parts: dict[str, list[Detection]] = {}  # track id -> its parts
    orphans: dict[str, list[Detection]] = {}  # family -> parts nobody holds
    for det in detections:
        family = _FAMILY.get(det.cls)
        if family is None or FAMILY_TYPE[family] not in rules:
            continue
        owner, held = _owner(box_of(det), family, persons)
        if owner is not None:
            parts.setdefault(owner.id, []).append(det)
        elif not held:  # a part without its person (e.g. above a counter) is judged alone
            orphans.setdefault(family, []).append(det)
    for family, loose in orphans.items():
        groups = _clusters(loose)
        for track, group in zip(
            tracker.update(family, [g[0] for g in groups], at), groups, strict=True
        ):
            parts[track.id] = group
    out: list[Observation] = []
    for track in tracker.tracks:
        for vtype in _types_of(track.kind, rules):
            out.append(_judge(track, vtype, parts.get(track.id, []), size, zones, min_score))
    return out


def _types_of(kind: str, rules: frozenset[ViolationType]) -> list[ViolationType]:
    if kind == "person":
        return sorted(t for t in rules if t in HYGIENE)
    if kind in PEST_TYPE:
        return [PEST_TYPE[kind]] if PEST_TYPE[kind] in rules else []
    vtype = FAMILY_TYPE.get(kind)
    return [vtype] if vtype in rules else []


def _judge(
    track: Track,
    vtype: ViolationType,
    parts: list[Detection],
    size: tuple[int, int],
    zones: ZoneFilter,
    min_score: Callable[[ViolationType], float],
) -> Observation:
    if track.kind in PEST_TYPE:
        bad = [d for d in track.current if d.score >= min_score(vtype)]
    else:
        family = next(f for f, t in FAMILY_TYPE.items() if t == vtype)
        bad = _violating(family, [p for p in parts if _FAMILY[p.cls] == family], min_score(vtype))
    if bad and not zones.counts(vtype, *_reference(track, size)):
        bad = []
    if not bad:
        return Observation(track.id, vtype, False, 0.0, ())
    subject = tuple(d for d in track.current if d not in bad) if track.kind == "person" else ()
    return Observation(track.id, vtype, True, max(d.score for d in bad), subject + tuple(bad))
