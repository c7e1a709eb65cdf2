"""Typed, immutable messages between the alert components."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["Clock", "EventLine", "Outgoing", "RecipientRef", "utc_now"]

Clock = Callable[[], datetime]  # aware UTC; injected so tests can move time


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RecipientRef:
    id: str
    name: str
    mobile: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class EventLine:
    """One event as a message shows it."""

    event_id: str
    kind: str
    type: str
    type_label: str  # e.g. 发现老鼠
    severity: str
    severity_label: str  # e.g. 紧急
    school_id: str | None
    school_name: str
    town_id: str | None
    kitchen_name: str
    camera_id: str | None
    camera_name: str
    started_at: datetime  # aware UTC
    local_time: str  # started_at in the district's zone, 'YYYY-MM-DD HH:MM:SS'
    console_url: str
    ack_url: str
    snapshot_key: str | None
    summary: str = ""  # the event's own one-line account (detail.summary), e.g. a digest's

    def as_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "type": self.type,
            "type_label": self.type_label,
            "severity": self.severity,
            "school_id": self.school_id,
            "school_name": self.school_name,
            "town_id": self.town_id,
            "kitchen": self.kitchen_name,
            "camera_id": self.camera_id,
            "camera_name": self.camera_name,
            "started_at": self.started_at.isoformat(),
            "local_time": self.local_time,
            "console_url": self.console_url,
            "ack_url": self.ack_url,
        }


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A rendered message for one target; `key` is the idempotency key receivers dedupe on.

    An event alert lists its events; a notice (a duty reminder) has none and says what it is
    in `notice`, e.g. "duty_reminder".
    """

    key: str
    channel: str
    address: str
    level: str
    school_id: str | None
    recipients: tuple[RecipientRef, ...]
    events: tuple[EventLine, ...]
    title: str
    text: str
    markdown: str
    created_at: datetime
    snapshot: bytes | None = field(default=None, repr=False)
    snapshot_name: str | None = None
    notice: str | None = None

    @property
    def first(self) -> EventLine:
        return self.events[0]

    def as_json(self) -> dict[str, Any]:
        """The payload of the webhook, MQTT and console channels."""
        payload: dict[str, Any] = {
            "id": self.key,
            "level": self.level,
            "school_id": self.school_id,
            "title": self.title,
            "text": self.text,
            "recipients": [r.id for r in self.recipients],
            "created_at": self.created_at.isoformat(),
            "events": [e.as_json() for e in self.events],
        }
        if self.notice is not None:
            payload["notice"] = self.notice
        return payload
