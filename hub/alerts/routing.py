"""Who gets which event: recipients per level, severity and escalation per type, targets.

Pure: an AlertPolicy is built once from the frozen config and answers questions about events
without touching the database or the network.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hub.config import HubConfig
from hub.config.alerts import AlertSeverity, ConsoleChannel, Recipient, SmtpChannel, TypeRule
from storage.db.models import Event

from .schedule import next_allowed

__all__ = ["LEVELS", "AlertPolicy", "EventFacts", "Target"]

LEVELS = ("school", "town", "district")

# Names of the types the detector and health monitor raise; config `types.<t>.label` wins.
TYPE_LABELS = {
    # Violations (the detector's types)
    "no_chef_hat": "未戴厨师帽",
    "no_mask": "未戴口罩",
    "no_gloves": "未戴手套",
    "rat": "发现老鼠",
    "cockroach": "发现蟑螂",
    # Camera and hub health (hub.health.store.EVENT_TYPES)
    "camera_offline": "摄像头离线",
    "frozen": "画面冻结",
    "black": "黑屏",
    "overexposed": "画面过曝",
    "blurred": "画面模糊",
    "covered": "镜头遮挡",
    "moved": "摄像头视角变动",
    "low_fps": "帧率偏低",
    "low_bitrate": "码率偏低",
    "keyframes": "关键帧间隔异常",
    "clock_drift": "摄像头时钟偏差",
    "stream_clock": "视频时间戳偏差",
    "recording_gap": "录像缺失",
    "spool_full": "本地缓存将满",
    "storage_failing": "存储不可用",
    "detector_backlog": "识别积压",
    "health_digest": "设备故障日报",
}
SEVERITY_LABELS = {"info": "提示", "warning": "警告", "urgent": "紧急"}


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What routing needs to know about an event."""

    kind: str
    type: str
    severity: AlertSeverity
    school_id: str | None
    town_id: str | None
    camera_id: str | None
    kitchen_id: str | None

    @property
    def urgent(self) -> bool:
        return self.severity is AlertSeverity.URGENT


@dataclass(frozen=True, slots=True)
class Target:
    """One message destination: a channel, an address for e-mail, and who it reaches."""

    channel: str
    address: str
    recipients: tuple[Recipient, ...]


class AlertPolicy:
    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.alerts = config.alerts
        self.tz = ZoneInfo(config.district.timezone)
        self._channels = {c.name: c for c in self.alerts.channels}
        by_level: dict[tuple[str, str | None], list[Recipient]] = defaultdict(list)
        for person in self.alerts.recipients:
            if person.school is not None:
                by_level["school", person.school].append(person)
            elif person.town is not None:
                by_level["town", person.town].append(person)
            else:
                by_level["district", None].append(person)
        self._recipients = dict(by_level)
        self._by_id = {p.id: p for p in self.alerts.recipients}

    def recipient(self, recipient_id: str) -> Recipient | None:
        return self._by_id.get(recipient_id)

    def rule(self, event_type: str) -> TypeRule:
        return self.alerts.types.get(event_type) or TypeRule()

    def severity(self, event_type: str, given: str) -> AlertSeverity:
        return self.rule(event_type).severity or AlertSeverity(given)

    def type_label(self, event_type: str) -> str:
        return self.rule(event_type).label or TYPE_LABELS.get(event_type, event_type)

    def first_level(self, facts: EventFacts) -> str:
        """Events of a school start at the school; hub-wide events go to the district."""
        return "school" if facts.school_id is not None else "district"

    def recipients(self, facts: EventFacts, level: str) -> list[Recipient]:
        key = {"school": facts.school_id, "town": facts.town_id, "district": None}[level]
        if level != "district" and key is None:
            return []
        return [
            p
            for p in self._recipients.get((level, key), [])
            if facts.kind in p.kinds and facts.severity.rank >= p.min_severity.rank
        ]

    def targets(self, facts: EventFacts, level: str) -> list[Target]:
        """Recipients merged per destination: two people in one WeCom group get one message.

        Console channels get every notified event whoever the recipients are: the console
        shows each viewer what their scope covers.
        """
        if not self.alerts.enabled or not self.rule(facts.type).notify:
            return []
        merged: dict[tuple[str, str], list[Recipient]] = {}
        for person in self.recipients(facts, level):
            for destination in self.destinations(person):
                merged.setdefault(destination, []).append(person)
        for channel in self.alerts.channels:
            if isinstance(channel, ConsoleChannel) and channel.enabled:
                merged.setdefault((channel.name, ""), [])
        return [Target(c, a, tuple(people)) for (c, a), people in merged.items()]

    def destinations(self, person: Recipient) -> list[tuple[str, str]]:
        """The (channel, address) pairs a person is reached at: enabled channels only."""
        out = []
        for name in person.channels:
            channel = self._channels[name]
            if channel.enabled:
                out.append((name, (person.email or "") if isinstance(channel, SmtpChannel) else ""))
        return out

    def allowed_at(self, target: Target, now: datetime, *, urgent: bool) -> datetime:
        """A shared destination may be notified as soon as any of its people may be."""
        if not target.recipients:
            return now
        return min(next_allowed(now, p, urgent=urgent, tz=self.tz) for p in target.recipients)

    def escalation_times(
        self, facts: EventFacts, start: datetime
    ) -> tuple[datetime | None, datetime | None]:
        """When an unacknowledged event goes to the town and to the district (None: never).

        A bureau-direct school (局直学校) has no town: the district comes at the town's time.
        """
        rule, ladder = self.rule(facts.type), self.alerts.escalation
        if (
            not self.alerts.enabled
            or not rule.notify
            or not rule.escalate
            or facts.school_id is None
            or facts.severity.rank < ladder.min_severity.rank
        ):
            return None, None
        town_min = rule.town_after_min or ladder.town_after_min
        district_min = max(rule.district_after_min or ladder.district_after_min, town_min)
        if facts.town_id is None:
            return None, start + timedelta(minutes=town_min)
        return start + timedelta(minutes=town_min), start + timedelta(minutes=district_min)

    def describe(self, event: Event) -> EventFacts:
        """Facts of an event; school, town and kitchen come from the camera when known."""
        school_id, town_id, kitchen_id = event.school_id, event.town_id, None
        if event.camera_id is not None:
            try:
                school = self.config.school_of(event.camera_id)
            except KeyError:
                school = None
            if school is not None:
                school_id = school_id or school.id
                kitchen_id = self.config.camera(event.camera_id).kitchen
        if school_id is not None and town_id is None:
            try:
                town_id = self.config.school(school_id).town
            except KeyError:
                town_id = None
        return EventFacts(
            kind=event.kind,
            type=event.type,
            severity=self.severity(event.type, event.severity),
            school_id=school_id,
            town_id=town_id,
            camera_id=event.camera_id,
            kitchen_id=kitchen_id,
        )

    def group_key(self, facts: EventFacts, level: str) -> str:
        return f"{level}:{facts.school_id or '-'}:{facts.kitchen_id or '-'}"

    def base_url(self) -> str:
        web = self.config.web
        url = str(web.public_url) if web.public_url else f"http://{web.host}:{web.port}"
        return url.rstrip("/")
