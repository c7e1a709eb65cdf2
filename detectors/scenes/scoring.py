"""Score a hub's violation events against scenario ground truth, on the wall clock.

Clip time to wall time. The simulator plays a clip from frame 0 when a client first plays its
mount, and loops it; it records an anchor (wall-clock time, clip frame, pipeline) at every loop
start and every jump (a stalled main loop skips timestamps ahead; a mount prepared again starts
a new pipeline from frame 0). Frame f after an anchor (w, f0) is live at w + (f - f0) / fps until
the next anchor. So each ground-truth interval [start_s, end_s) of the clip happens once per
pass, at the wall times ``wall_spans`` computes; passes of an interval that touch at the loop
seam merge into one.

Matching (``score``): an event matches an interval of the same camera and type when it starts
within [onset - early_s, end + late_s]; each interval takes the first such event, a second one
is a duplicate (a false positive), an event matching no interval is a false positive. Recall
counts the intervals that ended (plus late_s) before the run did; latency is the event's start
(as the hub recorded it) minus the interval's onset, and, where the bench noted it, the time the
event row first appeared minus the onset.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from detectors.scenes.scenario import Violation

__all__ = ["EARLY_S", "LATE_S", "HubEvent", "Match", "Score", "TruthSpan", "score", "wall_spans"]

EARLY_S = 1.0  # an event may start this early: clock mapping (~0.1 s) and sampling slack
LATE_S = 5.0  # an event may start this long after its interval ended: the p95 latency floor


class Anchor(Protocol):
    """camera_adapters.simulator.ClipAnchor, as far as scoring needs it."""

    @property
    def wall_s(self) -> float: ...
    @property
    def frame(self) -> int: ...
    @property
    def feeder(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TruthSpan:
    """A ground-truth violation on the wall clock (UTC epoch seconds)."""

    camera: str
    type: str
    start: float
    end: float
    actor: str = ""  # "worker 1", "pest 0": which of the script's actors
    clip_s: float = 0.0  # where in the clip it starts


@dataclass(frozen=True, slots=True)
class HubEvent:
    """A violation event as the hub recorded it."""

    id: str
    camera: str
    type: str
    start: float  # started_at, UTC epoch seconds
    seen: float | None = None  # when the bench first saw the row, if it watched


@dataclass(frozen=True, slots=True)
class Match:
    event: HubEvent
    span: TruthSpan | None  # None: the event matched nothing
    duplicate: bool = False  # the span had its event already


@dataclass(frozen=True, slots=True)
class Score:
    matches: tuple[Match, ...]
    due: tuple[TruthSpan, ...]  # intervals the hub had time to report
    found: tuple[TruthSpan, ...]  # due intervals that got an event
    latencies: tuple[float, ...]  # event start - onset, per matched interval
    seen_latencies: tuple[float, ...]  # first seen - onset, where seen

    @property
    def events(self) -> int:
        return len(self.matches)

    @property
    def true_positives(self) -> int:
        return sum(1 for m in self.matches if m.span is not None and not m.duplicate)

    @property
    def duplicates(self) -> int:
        return sum(1 for m in self.matches if m.duplicate)

    @property
    def unmatched(self) -> int:
        return sum(1 for m in self.matches if m.span is None)

    @property
    def missed(self) -> tuple[TruthSpan, ...]:
        return tuple(s for s in self.due if s not in self.found)

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.events if self.events else None

    @property
    def recall(self) -> float | None:
        return len(self.found) / len(self.due) if self.due else None

    def latency(self, q: float, *, seen: bool = False) -> float | None:
        """The q-th percentile (0-100) of the latencies, None without any."""
        values = self.seen_latencies if seen else self.latencies
        return float(np.percentile(values, q)) if values else None


@dataclass(frozen=True, slots=True)
class _Segment:
    wall: float
    first: int  # clip frames [first, last) play from `wall` on
    last: int


def _passes(anchors: Sequence[Anchor], frames: int) -> list[tuple[list[_Segment], float]]:
    """Each pass through the clip as segments, with the time its pipeline was replaced."""
    by_feeder: dict[int, list[Anchor]] = defaultdict(list)
    for anchor in anchors:
        by_feeder[anchor.feeder].append(anchor)
    starts = {f: min(a.wall_s for a in group) for f, group in by_feeder.items()}
    passes: list[tuple[list[_Segment], float]] = []
    for feeder, group in sorted(by_feeder.items()):
        group.sort(key=lambda a: a.wall_s)
        later = [w for f, w in starts.items() if w > starts[feeder]]
        cutoff = min(later, default=float("inf"))
        current: list[_Segment] = []
        for i, anchor in enumerate(group):
            nxt = group[i + 1] if i + 1 < len(group) else None
            last = nxt.frame if nxt is not None and nxt.frame > anchor.frame else frames
            if anchor.frame == 0 and current:
                passes.append((current, cutoff))
                current = []
            current.append(_Segment(anchor.wall_s, anchor.frame, last))
        if current:
            passes.append((current, cutoff))
    return passes


def _segment_of(segments: list[_Segment], frame: int) -> _Segment | None:
    return next((seg for seg in segments if seg.first <= frame < seg.last), None)


def wall_spans(
    camera: str,
    truth: Iterable[Violation],
    anchors: Sequence[Anchor],
    *,
    fps: int,
    frames: int,
) -> list[TruthSpan]:
    """Every pass of every ground-truth interval of a camera's clip, on the wall clock."""
    passes = _passes(anchors, frames)
    spans: list[TruthSpan] = []
    for v in truth:
        actor = f"worker {v.worker}" if v.worker is not None else f"pest {v.pest}"
        first, end = round(v.start_s * fps), round(v.end_s * fps)
        for segments, cutoff in passes:
            seg = _segment_of(segments, first)
            if seg is None or (onset := seg.wall + (first - seg.first) / fps) >= cutoff:
                continue  # this pass never got that far
            seg = _segment_of(segments, end - 1)  # the last frame showing it
            stop = seg.wall + (end - seg.first) / fps if seg else onset + v.end_s - v.start_s
            spans.append(TruthSpan(camera, v.type, onset, min(stop, cutoff), actor, v.start_s))
    return _merge(spans, 2.0 / fps)


def _merge(spans: list[TruthSpan], gap: float) -> list[TruthSpan]:
    """Join passes of one actor's violation that touch (it lasts across the loop seam)."""
    out: list[TruthSpan] = []
    for span in sorted(spans, key=lambda s: (s.camera, s.type, s.actor, s.start)):
        prev = out[-1] if out else None
        if (
            prev is not None
            and (prev.camera, prev.type, prev.actor) == (span.camera, span.type, span.actor)
            and span.start - prev.end <= gap
        ):
            out[-1] = TruthSpan(
                prev.camera, prev.type, prev.start, span.end, prev.actor, prev.clip_s
            )
        else:
            out.append(span)
    return sorted(out, key=lambda s: s.start)


def score(
    events: Iterable[HubEvent],
    spans: Iterable[TruthSpan],
    *,
    until: float,
    early_s: float = EARLY_S,
    late_s: float = LATE_S,
) -> Score:
    """Match events to intervals (see the module's docstring); ``until``: when watching ended."""
    groups: dict[tuple[str, str], list[TruthSpan]] = defaultdict(list)
    all_spans = sorted(spans, key=lambda s: s.start)
    for span in all_spans:
        groups[(span.camera, span.type)].append(span)
    taken: dict[TruthSpan, HubEvent] = {}
    matches: list[Match] = []
    for event in sorted(events, key=lambda e: (e.start, e.id)):
        candidates = [
            s
            for s in groups.get((event.camera, event.type), [])
            if s.start - early_s <= event.start <= s.end + late_s
        ]
        free = [s for s in candidates if s not in taken]
        if free:
            taken[free[0]] = event
            matches.append(Match(event, free[0]))
        else:
            matches.append(Match(event, candidates[0] if candidates else None, bool(candidates)))
    due = tuple(s for s in all_spans if s.end + late_s <= until)
    latencies = tuple(e.start - s.start for s, e in taken.items())
    seen = tuple(e.seen - s.start for s, e in taken.items() if e.seen is not None)
    return Score(
        matches=tuple(matches),
        due=due,
        found=tuple(s for s in due if s in taken),
        latencies=latencies,
        seen_latencies=seen,
    )
