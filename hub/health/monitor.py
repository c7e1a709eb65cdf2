"""CameraMonitor: one camera's checks combined, with precedence and hysteresis.

Precedence keeps one cause from showing as many problems: a black, over-exposed or closed
picture cannot be judged for cover, blur, freeze or a move; a covered lens not for blur,
freeze or a move; a blurred one not for a move; while offline nothing but the clock is
judged, and raising "offline" closes the camera's picture and stream problems.

`analyse()` runs in a worker thread (OpenCV); everything else on the event loop. The tick
awaits the analysis before it applies anything, so the two never overlap.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from camera_adapters.errors import OfflineReason
from hub.config.health import CheckName, HealthConfig
from hub.ingest.stats import StreamStats
from hub.ingest.supervisor import CameraState, CameraStatus
from hub.sampling import SampledFrame, TimingSnapshot

from . import checks
from .baseline import Baseline
from .checks.picture import Gray
from .hysteresis import Hysteresis
from .model import Change, ChangeKind, Finding, Problem
from .rules import Rule

__all__ = ["CameraMonitor"]

STATS_SETTLE_S: Final = 10.0  # the ingest stats window: rates before that are partial
_PICTURE = (CheckName.COVERED, CheckName.BLURRED, CheckName.FROZEN, CheckName.MOVED)
_UNUSABLE = frozenset({CheckName.BLACK, CheckName.COVERED, CheckName.FROZEN, CheckName.OVEREXPOSED})
_KEEP_WHEN_OFFLINE = frozenset({CheckName.OFFLINE, CheckName.CLOCK})


def _unknown(*names: CheckName) -> list[Finding]:
    return [Finding(name, None) for name in names]


class CameraMonitor:
    def __init__(
        self, camera_id: str | None, config: HealthConfig, rules: dict[CheckName, Rule]
    ) -> None:
        self.camera_id = camera_id
        self._th = config.thresholds
        self._rules = rules
        self._hyst = {c: Hysteresis(r.raise_after, r.clear_after) for c, r in rules.items()}
        self.problems: dict[CheckName, Problem] = {}
        self.closed = False  # dark outside open hours, as of the last sample
        self.last_sample_at: float | None = None
        min_samples = self._th.baseline_samples
        self._sharpness = Baseline(min_samples)
        self._fps, self._kbps, self._gop = (Baseline(min_samples) for _ in range(3))
        self._matches = Baseline(min_samples)  # features a healthy sample matches
        self._reference = checks.ViewReference(config.reference_every_s)
        self._previous: Gray | None = None
        self._last_reason: OfflineReason | None = None

    @property
    def learned(self) -> bool:
        """Whether the relative checks (sharpness, the reference view) can judge yet."""
        return self._sharpness.ready and self._reference.features is not None

    def active(self, check: CheckName) -> bool:
        hyst = self._hyst.get(check)
        return hyst is not None and hyst.active

    # -- pictures (worker thread) ------------------------------------------------------------

    def analyse(self, frames: list[SampledFrame], *, open_now: bool) -> list[tuple[float, Finding]]:
        """Findings of every frame, in order, each with its time."""
        out: list[tuple[float, Finding]] = []
        for frame in frames:
            out += [(frame.wall_time, f) for f in self._analyse(frame, open_now)]
            self.last_sample_at = frame.wall_time
        return out

    def _analyse(self, frame: SampledFrame, open_now: bool) -> list[Finding]:
        th, gray = self._th, frame.gray
        stats = checks.measure(gray)
        black, over, self.closed = checks.judge_brightness(stats, th, open_now=open_now)
        if black.bad or over.bad or self.closed:
            self._previous = None  # compare the next picture with a real one
            return [black, over, *_unknown(*_PICTURE)]
        covered = checks.judge_covered(stats, th)
        if covered.bad:
            self._previous = None
            return [black, over, covered, *_unknown(*_PICTURE[1:])]
        blur = checks.judge_blur(stats, self._sharpness.value, th)
        previous, self._previous = self._previous, gray
        difference = None if previous is None else checks.frame_difference(previous, gray)
        frozen = checks.judge_frozen(difference, stats, th)
        moved = Finding(CheckName.MOVED, None)
        reference = self._reference.features
        match = None
        if not blur.bad and reference is not None:
            match = checks.match_view(reference, gray)
            moved = checks.judge_moved(match, self._matches.value, th)
        healthy = not (blur.bad or frozen.bad or moved.bad) and not any(
            self.active(c) for c in (*_PICTURE, CheckName.BLACK)
        )
        if healthy:  # only a healthy picture may teach what normal looks like
            self._sharpness.add(stats.sharpness)
            self._reference.offer(gray, frame.wall_time)
            if match is not None:
                self._matches.add(match.matches)
        return [black, over, covered, blur, frozen, moved]

    # -- stream, connection, clock (event loop) ----------------------------------------------

    def tick_findings(
        self, status: CameraStatus, stats: StreamStats, timing: TimingSnapshot, now: float
    ) -> list[Finding]:
        if status.state is CameraState.OFFLINE and status.reason is not None:
            self._last_reason = status.reason
        offline = checks.judge_offline(status, self._last_reason)
        if status.state is not CameraState.ONLINE:
            self._previous = None
            return [offline]
        self._last_reason = None
        if now - status.since < STATS_SETTLE_S:
            return [offline]
        th = self._th
        explained = self.closed or any(self.active(c) for c in _UNUSABLE)
        fps = checks.judge_fps(stats.fps, self._fps.value, th)
        kbps = Finding(CheckName.LOW_BITRATE, None)
        if not explained:
            kbps = checks.judge_bitrate(stats.bitrate_kbps, self._kbps.value, th)
        gop = Finding(CheckName.KEYFRAMES, None)
        if not self.active(CheckName.FROZEN):  # a frozen encoder may repeat keyframes
            gop = checks.judge_keyframes(timing.keyframe_intervals, self._gop.value, th)
        for finding, baseline, value in (
            (fps, self._fps, stats.fps),
            (kbps, self._kbps, stats.bitrate_kbps),
            (gop, self._gop, stats.keyframe_interval_s),
        ):
            if finding.bad is not True and not explained and value:
                baseline.add(value)
        return [offline, fps, kbps, gop, checks.judge_stream_clock(timing, th)]

    # -- hysteresis --------------------------------------------------------------------------

    def apply(self, findings: list[tuple[float, Finding]]) -> list[Change]:
        changes: list[Change] = []
        for at, finding in findings:
            changes += self._apply(at, finding)
        return changes

    def _apply(self, at: float, finding: Finding) -> list[Change]:
        hyst = self._hyst.get(finding.check)
        if hyst is None:
            return []  # disabled in the config
        if finding.check not in _KEEP_WHEN_OFFLINE and self.active(CheckName.OFFLINE):
            return []
        when = datetime.fromtimestamp(at, UTC)
        flip = hyst.update(finding.bad, at)
        current = self.problems.get(finding.check)
        if flip is None:
            if current is not None and finding.bad and finding.reason != current.reason:
                updated = Problem(
                    self.camera_id, finding.check, finding.reason, finding.detail, current.since
                )
                self.problems[finding.check] = updated
                return [Change(ChangeKind.REASON, updated, when)]
            return []
        raised, streak_at = flip
        since = datetime.fromtimestamp(streak_at, UTC)
        if not raised:
            problem = self.problems.pop(finding.check)
            return [Change(ChangeKind.CLEARED, problem, since)]
        problem = Problem(self.camera_id, finding.check, finding.reason, finding.detail, since)
        self.problems[finding.check] = problem
        changes = [Change(ChangeKind.RAISED, problem, since)]
        if finding.check is CheckName.OFFLINE:
            changes += self._supersede(since)
        return changes

    def _supersede(self, at: datetime) -> list[Change]:
        """Offline: the picture and stream problems can no longer be judged; close them."""
        changes = []
        for check in list(self.problems):
            if check not in _KEEP_WHEN_OFFLINE:
                self._hyst[check].reset()
                changes.append(Change(ChangeKind.CLEARED, self.problems.pop(check), at))
        return changes

    def adopt(self, problems: list[Problem]) -> None:
        """Continue problems a previous watcher of the camera left open (as if raised here):
        they clear after the usual good streak. A check judged here already keeps its own."""
        for problem in problems:
            hyst = self._hyst.get(problem.check)
            if hyst is not None and problem.check not in self.problems:
                hyst.active = True
                self.problems[problem.check] = problem

    def judge(self, finding: Finding, at: float) -> list[Change]:
        """Apply a finding made outside the tick (clock readings, recording checks)."""
        return self._apply(at, finding)
