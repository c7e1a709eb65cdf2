"""Grouping, dedupe and rate limits: whether an event gets a message of its own now, joins
a message that is still waiting, or waits for a new one. Pure; outbox.py gathers the facts.

- The first event of a kitchen goes out at once.
- Further non-urgent events from that kitchen within `grouping.window_s` of its last message
  wait, and every such event joins one digest sent when the window ends.
- The same camera and type again within `grouping.dedupe_s` joins a digest instead of ringing
  again (urgent ones too: a flapping rat detection is one alarm, not twenty).
- Past `rate_limit.max_messages` per window for a target (a recipient on a channel), events
  wait in a digest until the window has room.
Nothing is dropped: held events are always sent, only later and together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.config.alerts import GroupingConfig, RateLimitConfig

__all__ = ["Plan", "TargetHistory", "plan_delivery"]


@dataclass(frozen=True, slots=True)
class TargetHistory:
    """What the outbox knows about one target and one kitchen, as of now."""

    open_message_id: int | None  # a message for this kitchen not yet due nor tried
    last_group_at: datetime | None  # newest message for this kitchen
    last_same_at: datetime | None  # newest message with the same camera and type
    recent_count: int  # messages to this target within the rate window
    oldest_recent_at: datetime | None


@dataclass(frozen=True, slots=True)
class Plan:
    due_at: datetime
    append_to: int | None = None  # join this waiting message instead of creating one


def plan_delivery(
    history: TargetHistory,
    *,
    now: datetime,
    allowed_at: datetime,
    urgent: bool,
    grouping: GroupingConfig,
    rate: RateLimitConfig,
) -> Plan:
    due = max(now, allowed_at)
    if history.last_same_at is not None and grouping.dedupe_s > 0:
        due = max(due, history.last_same_at + timedelta(seconds=grouping.dedupe_s))
    if not urgent and history.last_group_at is not None and grouping.window_s > 0:
        due = max(due, history.last_group_at + timedelta(seconds=grouping.window_s))
    if history.recent_count >= rate.max_messages and history.oldest_recent_at is not None:
        due = max(due, history.oldest_recent_at + timedelta(seconds=rate.window_s))
    if due > now and history.open_message_id is not None:
        return Plan(due_at=due, append_to=history.open_message_id)
    return Plan(due_at=due)
