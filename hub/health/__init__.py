"""Camera and hub health: checks with hysteresis, history, uptime, health events.

    service = HealthService(config, db, HubProbe(...), raise_event=alerts.raise_event)
    service.watch(camera_id, school_id, kitchen, supervisor, onvif)   # before or after start()
    await service.start() ... await service.unwatch(camera_id) ... await service.stop()

Layout: checks/ (pure judgements, one module each), hysteresis, baseline, schedule (kitchen
hours), monitor (one camera's checks combined), store (history and events), service (loops),
uptime (roll-ups), digest (the district's daily digest), queries (history for the API).
"""

from .model import CAMERA_CHECKS, DOWN_CHECKS, HUB_CHECKS, Change, ChangeKind, Finding, Problem
from .monitor import CameraMonitor
from .service import HealthService, HubProbe
from .store import EVENT_TYPES

__all__ = [
    "CAMERA_CHECKS",
    "DOWN_CHECKS",
    "EVENT_TYPES",
    "HUB_CHECKS",
    "CameraMonitor",
    "Change",
    "ChangeKind",
    "Finding",
    "HealthService",
    "HubProbe",
    "Problem",
]
