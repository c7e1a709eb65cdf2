"""Alert delivery: channels, recipients, rules per event type, and the escalation ladder.

Who gets what: a school's recipients (principal, canteen manager) get its events first; unless
someone acknowledges, the town's staff get them after `town_after_min`, then the district desk
after `district_after_min`. Per type rules set severity and escalation; per recipient a
minimum severity, quiet hours and duty hours; grouping and rate limits keep phones quiet.
"""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from ._base import Name, Section, Slug
from ._locs import Loc
from .alert_channels import (
    AlertChannel,
    ConsoleChannel,
    DingTalkChannel,
    MqttChannel,
    SmtpChannel,
    SmtpSecurity,
    WebhookChannel,
    WeComChannel,
)

__all__ = [
    "AlertChannel",
    "AlertSeverity",
    "AlertsConfig",
    "ConsoleChannel",
    "DeliveryConfig",
    "DingTalkChannel",
    "DutyWindow",
    "EscalationConfig",
    "EventKindName",
    "GroupingConfig",
    "MqttChannel",
    "QuietHours",
    "RateLimitConfig",
    "Recipient",
    "RecipientRole",
    "SmtpChannel",
    "SmtpSecurity",
    "TypeRule",
    "WeComChannel",
    "WebhookChannel",
    "Weekday",
    "find_alert_reference_problems",
]


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.URGENT: 2}


class EventKindName(StrEnum):
    VIOLATION = "violation"
    HEALTH = "health"


class RecipientRole(StrEnum):
    PRINCIPAL = "principal"  # 校长
    CANTEEN_MANAGER = "canteen_manager"  # 食堂管理员
    TOWN_STAFF = "town_staff"  # 镇中心学校 staff
    DISTRICT_DESK = "district_desk"  # 区教育局 值班


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class QuietHours(Section):
    """A daily period without non-urgent alerts; they are held until it ends, not dropped."""

    start: time = Field(description="Local start, e.g. '22:00'.")
    end: time = Field(description="Local end, e.g. '06:30'; before start means past midnight.")
    urgent_passes: bool = Field(default=True, description="Urgent alerts still go out.")


class DutyWindow(Section):
    """When a recipient is on duty; non-urgent alerts outside every window wait for the next."""

    days: tuple[Weekday, ...] = Field(default=tuple(Weekday), min_length=1, description="Days.")
    start: time = Field(default=time(0, 0), description="Local start of duty, e.g. '06:00'.")
    end: time = Field(default=time(23, 59, 59), description="Local end of duty, e.g. '18:00'.")

    @model_validator(mode="after")
    def _ordered(self) -> DutyWindow:
        if self.end <= self.start:
            raise PydanticCustomError("duty_window", "end must be after start on the same day")
        return self


class Recipient(Section):
    """A person or desk who receives alerts; `school`/`town` say at which level."""

    id: Slug = Field(description="Unique recipient id, e.g. 'dcxx-principal'.")
    name: Name = Field(description="Display name, e.g. '王校长'.")
    role: RecipientRole = Field(description="principal|canteen_manager|town_staff|district_desk")
    school: Slug | None = Field(default=None, description="School id (principal, manager).")
    town: Slug | None = Field(default=None, description="Town id (town staff).")
    channels: tuple[Slug, ...] = Field(min_length=1, description="Channel names to use.")
    email: str | None = Field(
        default=None, pattern=r"^[^@\s]+@[^@\s]+$", description="Address for smtp channels."
    )
    mobile: str | None = Field(
        default=None, pattern=r"^\+?[0-9]{5,20}$", description="Mobile number, @-mentioned in IM."
    )
    min_severity: AlertSeverity = Field(
        default=AlertSeverity.INFO, description="Ignore events below this severity."
    )
    kinds: tuple[EventKindName, ...] = Field(
        default=tuple(EventKindName), min_length=1, description="violation and/or health."
    )
    quiet_hours: QuietHours | None = Field(default=None, description="Hold non-urgent alerts.")
    on_duty: tuple[DutyWindow, ...] = Field(
        default=(), description="Duty hours; empty means always on duty."
    )

    @model_validator(mode="after")
    def _level_matches_role(self) -> Recipient:
        needs = {
            RecipientRole.PRINCIPAL: "school",
            RecipientRole.CANTEEN_MANAGER: "school",
            RecipientRole.TOWN_STAFF: "town",
            RecipientRole.DISTRICT_DESK: None,
        }[self.role]
        given = [k for k in ("school", "town") if getattr(self, k) is not None]
        if given != ([needs] if needs else []):
            want = f"exactly '{needs}'" if needs else "neither 'school' nor 'town'"
            raise PydanticCustomError(
                "recipient_level", "role {role} needs {want}", {"role": self.role, "want": want}
            )
        return self


class TypeRule(Section):
    """Rules for one event type, e.g. `rat` (urgent) or `no_gloves` (warning)."""

    label: str | None = Field(
        default=None, max_length=50, description="How messages name it, e.g. '发现老鼠'."
    )
    severity: AlertSeverity | None = Field(
        default=None, description="Severity to use instead of the detector's."
    )
    notify: bool = Field(default=True, description="false: record the event, send nothing.")
    escalate: bool = Field(default=True, description="Climb to town and district if ignored.")
    town_after_min: int | None = Field(
        default=None, ge=1, le=1440, description="Override of escalation.town_after_min."
    )
    district_after_min: int | None = Field(
        default=None, ge=1, le=1440, description="Override of escalation.district_after_min."
    )


class EscalationConfig(Section):
    """Minutes an alert may stay unacknowledged before it goes up a level."""

    town_after_min: int = Field(
        default=15, ge=1, le=1440, description="Unacknowledged this long: notify the town."
    )
    district_after_min: int = Field(
        default=30, ge=1, le=1440, description="Unacknowledged this long: notify the district."
    )
    min_severity: AlertSeverity = Field(
        default=AlertSeverity.WARNING, description="Events below this never escalate."
    )
    check_every_s: float = Field(
        default=5.0, gt=0, le=300, description="How often unacknowledged alerts are checked."
    )

    @model_validator(mode="after")
    def _ladder_order(self) -> EscalationConfig:
        if self.district_after_min < self.town_after_min:
            raise PydanticCustomError(
                "escalation_order", "district_after_min must be >= town_after_min"
            )
        return self


class GroupingConfig(Section):
    """Several events from one kitchen in a short window become one message."""

    window_s: float = Field(
        default=60, ge=0, le=3600, description="After a message, hold that kitchen's next events."
    )
    dedupe_s: float = Field(
        default=300, ge=0, le=86400, description="Same camera and type again: fold, not resend."
    )


class RateLimitConfig(Section):
    """Per recipient and channel, so a flapping camera cannot flood a phone."""

    max_messages: int = Field(default=10, ge=1, le=10_000, description="Messages per window.")
    window_s: float = Field(default=600, gt=0, le=86400, description="Window length.")


class DeliveryConfig(Section):
    """The outbox worker: polling and retry backoff per channel."""

    poll_s: float = Field(default=1.0, gt=0, le=60, description="Outbox poll interval.")
    backoff_initial_s: float = Field(default=1.0, gt=0, le=600, description="First retry wait.")
    backoff_max_s: float = Field(default=60.0, gt=0, le=3600, description="Longest retry wait.")
    backoff_jitter: float = Field(default=0.2, ge=0, le=1, description="+- fraction of a wait.")
    failing_after: int = Field(
        default=3, ge=1, le=1000, description="Consecutive failures before health says failing."
    )
    max_snapshot_bytes: int = Field(
        default=2_000_000, ge=0, description="Larger snapshots are linked, not attached."
    )


class AlertsConfig(Section):
    """Where alerts go and when they escalate."""

    enabled: bool = Field(default=False, description="Send alerts through the channels.")
    channels: tuple[AlertChannel, ...] = Field(default=(), description="Delivery channels.")
    recipients: tuple[Recipient, ...] = Field(default=(), description="Who receives alerts.")
    types: dict[Slug, TypeRule] = Field(
        default_factory=dict, description="Rules per event type, e.g. rat, no_gloves."
    )
    escalation: EscalationConfig = Field(
        default_factory=EscalationConfig, description="Escalation delays."
    )
    grouping: GroupingConfig = Field(default_factory=GroupingConfig, description="Grouping.")
    rate_limit: RateLimitConfig = Field(
        default_factory=RateLimitConfig, description="Rate limit per recipient and channel."
    )
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig, description="Retries.")
    ack_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Key signing one-click acknowledgement links (an env reference); "
        "empty: a random key per run, so links die with a restart.",
    )
    ack_link_ttl_h: int = Field(
        default=72, ge=1, le=720, description="Hours an acknowledgement link stays valid."
    )

    @model_validator(mode="after")
    def _channel_references(self) -> AlertsConfig:
        problems = _internal_problems(self)
        if problems:
            raise PydanticCustomError("alert_references", "; ".join(m for _, m in problems))
        return self


def _internal_problems(alerts: AlertsConfig) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    by_name: dict[str, Any] = {}
    for i, channel in enumerate(alerts.channels):
        if channel.name in by_name:
            problems.append((("channels", i, "name"), f"duplicate channel {channel.name!r}"))
        by_name[channel.name] = channel
    seen: set[str] = set()
    for i, person in enumerate(alerts.recipients):
        if person.id in seen:
            problems.append((("recipients", i, "id"), f"duplicate recipient id {person.id!r}"))
        seen.add(person.id)
        for name in person.channels:
            used = by_name.get(name)
            if used is None:
                problems.append((("recipients", i), f"{person.id}: unknown channel {name!r}"))
            elif isinstance(used, SmtpChannel) and person.email is None:
                problems.append((("recipients", i), f"{person.id}: channel {name!r} needs email"))
    return problems


def find_alert_reference_problems(config: Any) -> list[tuple[Loc, str]]:
    """Recipients naming a school or town the district does not have (validated models)."""
    alerts = getattr(config, "alerts", None)
    if not isinstance(alerts, AlertsConfig):
        return []
    schools = {s.id for s in getattr(config, "schools", ())}
    towns = {t.id for t in getattr(config, "towns", ())}
    problems: list[tuple[Loc, str]] = []
    for i, person in enumerate(alerts.recipients):
        loc: Loc = ("alerts", "recipients", i)
        if person.school is not None and person.school not in schools:
            problems.append(((*loc, "school"), f"unknown school id {person.school!r}"))
        if person.town is not None and person.town not in towns:
            problems.append(((*loc, "town"), f"unknown town id {person.town!r}"))
    return problems
