"""A simple multi-object tracker: greedy IoU matching, then nearest centre for fast movers.

Each track predicts where it is now from its last velocity (two workers crossing keep their
ids). At one sample a second a walking worker's boxes still overlap; a running rat's may
not, so a detection left over by IoU takes the nearest unmatched track of its kind within
about a box diagonal. Tracks of different kinds never match. A track unseen for `max_age_s` is
forgotten; its id is never reused.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Final

from detectors.detection import Detection

from .geometry import Box, box_of, center, iou

__all__ = ["Track", "Tracker"]

MIN_IOU: Final = 0.2  # below this two boxes are not the same object by overlap alone
MAX_JUMP: Final = 1.0  # centre distance, in diagonals of the larger box, for a fast mover
# A running rat or cockroach covers several body lengths between two samples.
MAX_JUMP_OF: Final = {"rat": 3.0, "cockroach": 3.0}
MAX_PREDICT_S: Final = 2.0  # a track unseen longer is looked for where it was last seen


@dataclass(slots=True)
class Track:
    id: str  # e.g. "person-7": unique for the tracker's life
    kind: str  # "person", "rat", "cockroach", or a part family ("head", "face", "hand")
    box: Box  # where it was last seen
    first_seen: float
    last_seen: float
    hits: int = 1
    velocity: tuple[float, float] = (0.0, 0.0)  # px/s of the box centre, smoothed
    current: list[Detection] = field(default_factory=list)  # this sample's detections


def _diagonal(b: Box) -> float:
    return math.hypot(b[2] - b[0], b[3] - b[1])


class Tracker:
    def __init__(self, *, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._tracks: dict[str, Track] = {}
        self._ids = itertools.count(1)

    @property
    def tracks(self) -> list[Track]:
        return list(self._tracks.values())

    def reset(self) -> None:
        """Forget every track (the picture changed size: old boxes mean nothing)."""
        self._tracks.clear()

    def begin(self, at: float) -> list[Track]:
        """Start a sample: forget stale tracks, clear last sample's detections; return the
        forgotten ones."""
        gone = [t for t in self._tracks.values() if at - t.last_seen > self.max_age_s]
        for track in gone:
            del self._tracks[track.id]
        for track in self._tracks.values():
            track.current = []
        return gone

    def update(self, kind: str, detections: list[Detection], at: float) -> list[Track]:
        """Match this sample's detections of one kind; returns the track of each, in order."""
        tracks = [t for t in self._tracks.values() if t.kind == kind and not t.current]
        guesses = [_predict(t, at) for t in tracks]
        boxes = [box_of(d) for d in detections]
        assigned: dict[int, Track] = {}
        pairs = sorted(
            ((iou(g, b), ti, di) for ti, g in enumerate(guesses) for di, b in enumerate(boxes)),
            reverse=True,
        )
        used: set[int] = set()
        for score, ti, di in pairs:
            if score < MIN_IOU:
                break
            if ti not in used and di not in assigned:
                used.add(ti)
                assigned[di] = tracks[ti]
        by_distance = sorted(
            (_jump(g, b), ti, di)
            for ti, g in enumerate(guesses)
            if ti not in used
            for di, b in enumerate(boxes)
            if di not in assigned
        )
        limit = MAX_JUMP_OF.get(kind, MAX_JUMP)
        for jump, ti, di in by_distance:
            if jump > limit:
                break
            if ti not in used and di not in assigned:
                used.add(ti)
                assigned[di] = tracks[ti]
        out: list[Track] = []
        for di, det in enumerate(detections):
            track = assigned.get(di)
            if track is None:
                track = Track(f"{kind}-{next(self._ids)}", kind, boxes[di], at, at)
                self._tracks[track.id] = track
            else:
                _move(track, boxes[di], at)
            track.current.append(det)
            out.append(track)
        return out

    def alive(self, kind: str) -> list[Track]:
        return [t for t in self._tracks.values() if t.kind == kind]


def _predict(track: Track, at: float) -> Box:
    """The track's box moved on by its velocity (for at most MAX_PREDICT_S)."""
    dt = min(at - track.last_seen, MAX_PREDICT_S)
    dx, dy = track.velocity[0] * dt, track.velocity[1] * dt
    x0, y0, x1, y1 = track.box
    return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)


def _move(track: Track, box: Box, at: float) -> None:
    dt = at - track.last_seen
    if dt > 0:
        (ox, oy), (nx, ny) = center(track.box), center(box)
        vx, vy = (nx - ox) / dt, (ny - oy) / dt
        if track.hits > 1:  # smooth: one jittery box must not fling the prediction
            vx, vy = (vx + track.velocity[0]) / 2, (vy + track.velocity[1]) / 2
        track.velocity = (vx, vy)
    track.box, track.last_seen, track.hits = box, at, track.hits + 1


def _jump(a: Box, b: Box) -> float:
    (ax, ay), (bx, by) = center(a), center(b)
    scale = max(_diagonal(a), _diagonal(b), 1.0)
    return math.hypot(ax - bx, ay - by) / scale
