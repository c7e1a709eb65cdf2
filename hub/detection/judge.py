"""One camera's judgement: tracker, evidence and rules together, fed one sample at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from detectors.detection import Detection
from hub.config.detection import HYGIENE, PESTS, ViolationType, Zone

from .evidence import ZoneFilter, observe
from .rules import Closed, Transition, ViolationRules
from .tracker import Tracker

__all__ = ["CameraJudge", "JudgeSettings"]


@dataclass(frozen=True, slots=True)
class JudgeSettings:
    rules: frozenset[ViolationType]
    zones: tuple[Zone, ...]
    persistence: Callable[[ViolationType], tuple[int, int]]
    min_score: Callable[[ViolationType], float]
    cooldown_s: float
    update_every_s: float
    track_max_age_s: float


class CameraJudge:
    def __init__(self, settings: JudgeSettings) -> None:
        self.settings = settings
        self.tracker = Tracker(max_age_s=settings.track_max_age_s)
        self.rules = ViolationRules(
            persistence=settings.persistence,
            cooldown_s=settings.cooldown_s,
            update_every_s=settings.update_every_s,
            per_camera=PESTS,
        )
        self._zones = ZoneFilter(settings.zones)

    def sample(
        self,
        at: float,
        detections: Iterable[Detection],
        size: tuple[int, int],
        *,
        hygiene_on: bool = True,
    ) -> list[Transition]:
        """Judge one sample; outside kitchen hours only the pest rules run."""
        active = self.settings.rules if hygiene_on else self.settings.rules & PESTS
        gone = self.tracker.begin(at)
        observations = observe(
            self.tracker,
            list(detections),
            at=at,
            size=size,
            rules=active,
            zones=self._zones,
            min_score=self.settings.min_score,
        )
        return self.rules.apply(at, observations, [t.id for t in gone])

    def suppress(self, zones: Iterable[Zone]) -> None:
        """Accepted suppression zones (hub.detection.suppression), on top of the config's;
        replaces the earlier ones."""
        self._zones = ZoneFilter((*self.settings.zones, *zones))

    def picture_changed(self) -> None:
        """New picture geometry: no box compares with an old one (events keep their cooldown)."""
        self.rules.forget_tracks(t.id for t in self.tracker.tracks)
        self.tracker.reset()

    def idle(self, now: float) -> list[Transition]:
        """No sample came: end what has been absent past its cooldown by `now`."""
        return self.rules.apply(now, ())

    def close_all(self) -> list[Closed]:
        return self.rules.close_all()

    @property
    def hygiene(self) -> frozenset[ViolationType]:
        return self.settings.rules & HYGIENE
