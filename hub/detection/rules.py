"""Observations over time -> violation events: k of n persistence, merging and cooldown.

A (track, type) pair raises a violation when it was seen in `k` of its last `n` samples; the
event starts at the first sighting of the run that raised it. While any track holds it, the
event goes on and is refreshed every `update_every_s`. A track that is lost and found again
as a new track (an occlusion, a missed detection) continues the same event when that event
has no other track holding it, so one worker without a hat for ten minutes stays ONE event.
Pest types are judged per camera, not per track: a rat seen as two tracks (a jump the tracker
could not follow, a second rat) is one open event, which every rat track joins. The event
ends `cooldown_s` after the violation was last seen, at that last sighting. Pure logic: the
caller feeds samples with their times and acts on the transitions returned.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from detectors.detection import Detection
from hub.config.detection import ViolationType

from .evidence import Observation

__all__ = ["Closed", "Opened", "Transition", "Updated", "ViolationRules"]

_BRIDGED = 1  # missed samples a run of sightings bridges when dating the start


@dataclass(frozen=True, slots=True)
class Opened:
    key: str  # the violation's id for this camera's rules (not the event row's id)
    vtype: ViolationType
    track: str
    started_at: float  # first sighting of the k that raised it
    at: float  # the sample that raised it
    confidence: float
    evidence: tuple[Detection, ...]


@dataclass(frozen=True, slots=True)
class Updated:
    key: str
    vtype: ViolationType
    at: float
    last_seen: float
    confidence: float
    tracks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Closed:
    key: str
    vtype: ViolationType
    ended_at: float  # the last sighting
    confidence: float
    tracks: tuple[str, ...]


Transition = Opened | Updated | Closed


@dataclass(slots=True)
class _Violation:
    key: str
    vtype: ViolationType
    tracks: list[str]
    last_seen: float
    updated_at: float
    held_at: float
    score_sum: float = 0.0
    sightings: int = 0
    holders: set[str] = field(default_factory=set)  # tracks attached to it now

    @property
    def confidence(self) -> float:
        return self.score_sum / self.sightings if self.sightings else 0.0


def _onset(times: Iterable[float], seen: list[bool]) -> float:
    """When the violation began: the first sighting of the latest run of sightings, a run
    bridging single missed samples. An isolated sighting two or more samples before it
    (a flicker of the detector) helps reach k but is not the start."""
    stamps = list(times)
    hits = [i for i, s in enumerate(seen) if s]
    first = len(hits) - 1
    while first > 0 and hits[first] - hits[first - 1] <= _BRIDGED + 1:
        first -= 1
    return stamps[hits[first]]


class ViolationRules:
    def __init__(
        self,
        *,
        persistence: Callable[[ViolationType], tuple[int, int]],
        cooldown_s: float,
        update_every_s: float,
        per_camera: frozenset[ViolationType] = frozenset(),
    ) -> None:
        self._persistence = persistence
        self._per_camera = per_camera
        self._cooldown_s = cooldown_s
        self._update_every_s = update_every_s
        self._windows: dict[tuple[str, ViolationType], deque[Observation]] = {}
        self._times: dict[tuple[str, ViolationType], deque[float]] = {}
        self._open: dict[str, _Violation] = {}
        self._owner: dict[tuple[str, ViolationType], str] = {}  # (track, type) -> violation
        self._keys = itertools.count(1)

    @property
    def open_count(self) -> int:
        return len(self._open)

    def apply(
        self, at: float, observations: Iterable[Observation], gone: Iterable[str] = ()
    ) -> list[Transition]:
        """One sample: `observations` of every live track, `gone` the tracks just forgotten."""
        out: list[Transition] = []
        self.forget_tracks(gone)
        held: list[tuple[tuple[str, ViolationType], Observation]] = []
        for obs in observations:
            key = (obs.track, obs.vtype)
            k, n = self._persistence(obs.vtype)
            window = self._windows.setdefault(key, deque(maxlen=n))
            times = self._times.setdefault(key, deque(maxlen=n))
            window.append(obs)
            times.append(at)
            if sum(o.seen for o in window) >= k:
                held.append((key, obs))
        # Tracks already attached first, so a new track only takes over a free violation.
        held.sort(key=lambda item: item[0] not in self._owner)
        for key, obs in held:
            out += self._hold(key, obs, at)
        for violation in list(self._open.values()):
            if violation.held_at != at and at - violation.last_seen >= self._cooldown_s:
                out.append(self._close(violation))
        return out

    def forget_tracks(self, tracks: Iterable[str]) -> None:
        """Drop these tracks' windows; violations they held stay open for their cooldown."""
        for track in list(tracks):
            self._forget(track)

    def close_all(self) -> list[Closed]:
        """End every open violation at its last sighting (the camera stops being watched)."""
        return [self._close(v) for v in list(self._open.values())]

    def _hold(
        self, key: tuple[str, ViolationType], obs: Observation, at: float
    ) -> list[Transition]:
        violation = self._open.get(self._owner.get(key, ""))
        moved = violation is None
        if violation is None:
            violation = self._free(obs.vtype, at)
            if violation is None:
                return [self._raise(key, obs, at)]
            self._attach(violation, key)  # the same violation, found on a new track
        violation.held_at = at
        if obs.seen:
            violation.last_seen = at
            violation.score_sum += obs.score
            violation.sightings += 1
        if not moved and at - violation.updated_at < self._update_every_s:
            return []
        violation.updated_at = at
        return [
            Updated(
                violation.key,
                violation.vtype,
                at,
                violation.last_seen,
                violation.confidence,
                tuple(violation.tracks),
            )
        ]

    def _free(self, vtype: ViolationType, at: float) -> _Violation | None:
        """An open violation of this type a new track may continue, the latest seen first:
        any of a per-camera type, else one that no track holds now."""
        shared = vtype in self._per_camera
        free = [
            v
            for v in self._open.values()
            if v.vtype == vtype and (shared or (v.held_at != at and not self._still_held(v)))
        ]
        return max(free, key=lambda v: v.last_seen, default=None)

    def _still_held(self, violation: _Violation) -> bool:
        for track in violation.holders:
            k, _n = self._persistence(violation.vtype)
            window = self._windows.get((track, violation.vtype))
            if window is not None and sum(o.seen for o in window) >= k:
                return True
        return False

    def _raise(self, key: tuple[str, ViolationType], obs: Observation, at: float) -> Opened:
        times, window = self._times[key], self._windows[key]
        seen = [t for t, o in zip(times, window, strict=True) if o.seen]
        scores = [o.score for o in window if o.seen]
        violation = _Violation(
            key=f"v{next(self._keys)}",
            vtype=obs.vtype,
            tracks=[],
            last_seen=seen[-1],
            updated_at=at,
            held_at=at,
            score_sum=sum(scores),
            sightings=len(scores),
        )
        self._open[violation.key] = violation
        self._attach(violation, key)
        started = _onset(times, [o.seen for o in window])
        return Opened(
            violation.key, obs.vtype, obs.track, started, at, violation.confidence, obs.evidence
        )

    def _attach(self, violation: _Violation, key: tuple[str, ViolationType]) -> None:
        self._owner[key] = violation.key
        violation.holders.add(key[0])
        if key[0] not in violation.tracks:
            violation.tracks.append(key[0])

    def _forget(self, track: str) -> None:
        for key in [k for k in self._windows if k[0] == track]:
            del self._windows[key]
            del self._times[key]
            owner = self._owner.pop(key, None)
            if owner in self._open:
                self._open[owner].holders.discard(track)

    def _close(self, violation: _Violation) -> Closed:
        del self._open[violation.key]
        for key in [k for k, v in self._owner.items() if v == violation.key]:
            del self._owner[key]
        return Closed(
            violation.key,
            violation.vtype,
            violation.last_seen,
            violation.confidence,
            tuple(violation.tracks),
        )
