"""When a camera's hygiene rules apply: its own hours, else its kitchen's open hours."""

from __future__ import annotations

from datetime import datetime, tzinfo

from hub.config.camera import Camera
from hub.config.health import KitchenHours
from hub.health.schedule import KitchenSchedule

__all__ = ["HygieneHours"]


class HygieneHours:
    """Hygiene rules apply while the kitchen works (health.kitchen_hours) unless the camera
    sets `detection.hours` ([] for always). Pest rules ignore hours altogether."""

    def __init__(
        self, camera: Camera, school_id: str, kitchen_hours: tuple[KitchenHours, ...], tz: tzinfo
    ) -> None:
        override = camera.detection.hours
        self._key = (school_id, camera.kitchen)
        if override is None:
            self._schedule: KitchenSchedule | None = KitchenSchedule(kitchen_hours, tz)
        elif not override:
            self._schedule = None
        else:
            own = KitchenHours(school=school_id, kitchen=camera.kitchen, open=override)
            self._schedule = KitchenSchedule((own,), tz)

    def open_at(self, at: datetime) -> bool:
        if self._schedule is None:
            return True
        return self._schedule.open_at(*self._key, at)
