"""Scenario scripts: what happens in a scripted clip, and the violations that follow from it.

A scenario is a small declarative script (frozen dataclasses, JSON-able through ``to_dict`` and
``from_dict``): how long the clip runs, the seed of its kitchen, the room and whether it is an
IR night picture, the workers (where they stand or walk, what they wear and when that changes)
and the pests (which crosses from where to where, when, for how long). ``ground_truth`` turns
it into violation intervals with the same rules the hub applies per room.

    Scenario("hat-off", duration_s=60, seed=11, room="hot_kitchen", workers=(
        WorkerScript(path=((0, 0.3, 0.85),)),
        WorkerScript(path=((0, 0.62, 0.8),), changes=(Change(at_s=20, for_s=15, hat="none"),)),
    ))  # worker 2 takes the hat off at 00:20 for 15 s

Positions are fractions of the frame: x from the left, y from the top, a worker's at the feet.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ASPECT",
    "GLOVE_MASK_ROOMS",
    "ROOMS",
    "VIOLATION_TYPES",
    "Change",
    "PestScript",
    "Scenario",
    "Violation",
    "WorkerScript",
    "ground_truth",
]

ROOMS = ("hot_kitchen", "cold_dish", "prep", "washing", "storage", "serving", "special")
# The rules (hub/config/detection.py DEFAULT_ROOM_RULES): chef hats and pests everywhere in the
# kitchen, masks and gloves as well in 凉菜间 and 专间.
GLOVE_MASK_ROOMS = frozenset({"cold_dish", "special"})
VIOLATION_TYPES = ("no_chef_hat", "no_mask", "no_gloves", "rat", "cockroach")
HATS = ("none", "toque", "cap")
PESTS = ("rat", "cockroach")
ASPECT = 16 / 9  # the cameras' picture: width / height
# Half the width of a worker's head and of the whole figure (arms out), and the top of a bare
# head above the feet, as fractions of the person's height (the proportions
# detectors.scenes.people draws with, plus room for the sway). A hat or mask violation shows
# while the head is in the picture, a gloves violation while the whole figure is.
_HALF_HEAD = 0.09
_HALF_WIDTH = 0.2
_HEAD_TOP = 1.0
_NECK = 0.8


@dataclass(frozen=True, slots=True)
class Change:
    """From ``at_s``, for ``for_s`` seconds (None: to the end), the worker wears this instead."""

    at_s: float
    for_s: float | None = None
    hat: str | None = None  # "none", "toque" or "cap"
    mask: bool | None = None
    gloves: bool | None = None


@dataclass(frozen=True, slots=True)
class WorkerScript:
    """One worker: a path of (t_s, x, y) feet positions, an outfit and its timed changes.

    The worker moves linearly between the path's points, stands before the first and after the
    last; a path may start or end outside the picture (walking in or out).
    """

    path: tuple[tuple[float, float, float], ...]
    hat: str = "toque"
    mask: bool = True
    gloves: bool = True
    changes: tuple[Change, ...] = ()
    height: float = 0.0  # person height as a fraction of the picture's; 0: from the feet's y
    sway: float = 0.012  # working motion: the body sways this fraction of the width

    def position(self, t: float) -> tuple[float, float]:
        """Feet (x, y) at ``t`` along the path, without the sway."""
        points = self.path
        if t <= points[0][0]:
            return points[0][1], points[0][2]
        for (t0, x0, y0), (t1, x1, y1) in itertools.pairwise(points):
            if t < t1:
                k = (t - t0) / (t1 - t0) if t1 > t0 else 1.0
                return x0 + k * (x1 - x0), y0 + k * (y1 - y0)
        return points[-1][1], points[-1][2]

    def outfit(self, t: float) -> tuple[str, bool, bool]:
        """(hat, mask, gloves) worn at ``t``: the last change in force wins."""
        hat, mask, gloves = self.hat, self.mask, self.gloves
        for change in sorted(self.changes, key=lambda c: c.at_s):
            if change.at_s <= t and (change.for_s is None or t < change.at_s + change.for_s):
                hat = change.hat if change.hat is not None else hat
                mask = change.mask if change.mask is not None else mask
                gloves = change.gloves if change.gloves is not None else gloves
        return hat, mask, gloves

    def height_at(self, y: float) -> float:
        """Person height (fraction of the picture's) with the feet at ``y``: nearer is bigger."""
        return self.height or 0.3 + 0.45 * min(1.0, max(0.0, y))

    def in_view(self, t: float, *, head_only: bool = False) -> bool:
        """Whether the worker's whole figure (or just the head) is inside the picture."""
        x, y = self.position(t)
        h = self.height_at(y)
        margin = (_HALF_HEAD if head_only else _HALF_WIDTH) * h / ASPECT
        bottom = y - _NECK * h if head_only else y
        return margin <= x <= 1 - margin and y - _HEAD_TOP * h >= 0 and bottom <= 1.0


@dataclass(frozen=True, slots=True)
class PestScript:
    """A rat or a cockroach crossing from ``start`` to ``end`` (x, y) from ``at_s`` for
    ``for_s`` seconds; it is seen only then."""

    kind: str
    at_s: float
    for_s: float
    start: tuple[float, float]
    end: tuple[float, float]
    size: float = 0.0  # body length, fraction of the picture's width; 0: the kind's default

    def position(self, t: float) -> tuple[float, float]:
        k = min(1.0, max(0.0, (t - self.at_s) / self.for_s))
        return (
            self.start[0] + k * (self.end[0] - self.start[0]),
            self.start[1] + k * (self.end[1] - self.start[1]),
        )

    def visible(self, t: float) -> bool:
        return self.at_s <= t < self.at_s + self.for_s


@dataclass(frozen=True, slots=True)
class Violation:
    """A ground-truth violation: ``type`` holds from ``start_s`` to ``end_s`` of the clip.

    ``worker`` is the index of the worker in the script, None for a pest (then ``pest`` is).
    """

    type: str
    start_s: float
    end_s: float
    worker: int | None = None
    pest: int | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scripted clip. ``run_s`` says how long a bench watches it looping (0: one pass)."""

    name: str
    duration_s: int
    seed: int
    room: str = "hot_kitchen"
    night: bool = False
    workers: tuple[WorkerScript, ...] = ()
    pests: tuple[PestScript, ...] = ()
    run_s: float = 0.0
    description: str = ""

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ValueError(f"scenario {self.name!r}: " + "; ".join(problems))

    @property
    def watch_s(self) -> float:
        return self.run_s or float(self.duration_s)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        workers = tuple(
            WorkerScript(
                **{
                    **w,
                    "path": tuple(tuple(p) for p in w["path"]),
                    "changes": tuple(Change(**c) for c in w.get("changes", ())),
                }
            )
            for w in data.get("workers", ())
        )
        pests = tuple(
            PestScript(**{**p, "start": tuple(p["start"]), "end": tuple(p["end"])})
            for p in data.get("pests", ())
        )
        return cls(**{**data, "workers": workers, "pests": pests})

    def key(self, *extra: object) -> str:
        """A hash of the script (and of ``extra``, e.g. the renderer's version): a cache key."""
        text = json.dumps([self.to_dict(), *map(str, extra)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _problems(s: Scenario) -> list[str]:
    problems = []
    if s.room not in ROOMS:
        problems.append(f"room {s.room!r} is not one of {', '.join(ROOMS)}")
    if s.duration_s <= 0:
        problems.append("duration_s must be positive")
    for i, w in enumerate(s.workers):
        hats = [w.hat, *(c.hat for c in w.changes if c.hat is not None)]
        if any(h not in HATS for h in hats):
            problems.append(f"worker {i}: hat must be one of {', '.join(HATS)}")
        if not w.path or any(b[0] < a[0] for a, b in itertools.pairwise(w.path)):
            problems.append(f"worker {i}: path needs points in time order")
    for i, p in enumerate(s.pests):
        if p.kind not in PESTS:
            problems.append(f"pest {i}: kind must be rat or cockroach")
        if p.for_s <= 0 or p.at_s < 0 or p.at_s + p.for_s > s.duration_s:
            problems.append(f"pest {i}: must be seen for a while within the clip")
        if not all(0 <= v <= 1 for v in (*p.start, *p.end)):
            problems.append(f"pest {i}: start and end must be inside the picture")
    return problems


def _worker_types(s: Scenario, w: WorkerScript, t: float) -> set[str]:
    if not w.in_view(t, head_only=True):
        return set()
    hat, mask, gloves = w.outfit(t)
    found = set()
    if hat == "none":
        found.add("no_chef_hat")
    if s.room in GLOVE_MASK_ROOMS:
        if not mask:
            found.add("no_mask")
        if not gloves and w.in_view(t):  # both hands in the picture
            found.add("no_gloves")
    return found


def ground_truth(scenario: Scenario, fps: int = 25) -> list[Violation]:
    """Every violation interval of the scenario, sampled at the clip's frame rate.

    An interval runs from the first frame showing a violation to the end of the last one
    (frame n shows t = n / fps), per worker or pest and type; sorted by start.
    """
    frames = scenario.duration_s * fps
    out: list[Violation] = []
    for i, worker in enumerate(scenario.workers):
        for vtype in ("no_chef_hat", "no_mask", "no_gloves"):
            held = [vtype in _worker_types(scenario, worker, n / fps) for n in range(frames)]
            out += [Violation(vtype, a / fps, b / fps, worker=i) for a, b in _runs(held)]
    for j, pest in enumerate(scenario.pests):
        held = [pest.visible(n / fps) for n in range(frames)]
        out += [Violation(pest.kind, a / fps, b / fps, pest=j) for a, b in _runs(held)]
    return sorted(out, key=lambda v: (v.start_s, v.type))


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """[start, end) index runs of True."""
    runs, start = [], None
    for n, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = n
        elif not flag and start is not None:
            runs.append((start, n))
            start = None
    return runs
