"""The outbox: an event and the messages it causes are written in ONE transaction.

The detector and the health monitor call `raise_event` inside their own session; when that
transaction commits, the event and every message it needs are durable together, and the
delivery worker is woken. If it rolls back, neither exists. Nothing is sent from here.

    async with db.session() as session:
        event = Event(kind="violation", type="rat", severity="urgent",
                      camera_id="dc-xx-hot-01", started_at=now, snapshot_key=key)
        await hub.alerts.raise_event(session, event)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db.models import Event
from storage.db.models_alerts import (
    AlertMessage,
    AlertMessageEvent,
    AlertState,
    AlertStep,
    Level,
    MessageStatus,
    StepAction,
)

from .grouping import Plan, TargetHistory, plan_delivery
from .model import utc_now
from .routing import AlertPolicy, EventFacts, Target

__all__ = ["enqueue", "raise_event"]


async def raise_event(
    session: AsyncSession,
    event: Event,
    *,
    policy: AlertPolicy,
    now: datetime | None = None,
    on_commit: Callable[[], None] | None = None,
) -> Event:
    """Add `event` and its alert messages to the session's transaction; return the event.

    The caller sets kind, type, severity, camera_id (or school_id) and started_at, and may set
    snapshot_key, clip_key, confidence, track_id and detail. Filled in here when missing: id,
    school_id, town_id (from the camera's place in the district), updated_at; the severity
    becomes the configured one for the type, if any. `on_commit` runs after the commit (the
    worker's wake-up); the caller's `session` commits or rolls back as usual.
    """
    now = now or utc_now()
    facts = policy.describe(event)
    event.id = event.id or uuid.uuid4().hex
    event.school_id, event.town_id = facts.school_id, facts.town_id
    event.severity = str(facts.severity)
    event.updated_at = event.updated_at or now
    session.add(event)
    await session.flush()  # the event row first: the messages refer to it
    level = policy.first_level(facts)
    await enqueue(session, event, facts, level=level, policy=policy, now=now)
    town_at, district_at = policy.escalation_times(facts, now)
    next_at = town_at or district_at
    session.add(
        AlertState(
            event_id=event.id,
            level=level,
            town_at=town_at,
            district_at=district_at,
            next_escalation_at=next_at,
        )
    )
    if on_commit is not None:
        sa_event.listen(session.sync_session, "after_commit", lambda _s: on_commit(), once=True)
    return event


async def enqueue(
    session: AsyncSession,
    event: Event,
    facts: EventFacts,
    *,
    level: str,
    policy: AlertPolicy,
    now: datetime,
    via: str | None = None,
) -> int:
    """Write the messages that tell `level` about `event`, and the step that records it.

    Returns how many targets were reached (joined or new messages).
    """
    if not policy.alerts.enabled:
        return 0  # events are still recorded; nothing is notified, so no step either
    targets = policy.targets(facts, level)
    group_key = policy.group_key(facts, level)
    histories = await _histories(session, targets, group_key, facts, policy, now)
    for target in targets:
        plan = plan_delivery(
            histories[target.channel, target.address],
            now=now,
            allowed_at=policy.allowed_at(target, now, urgent=facts.urgent),
            urgent=facts.urgent,
            grouping=policy.alerts.grouping,
            rate=policy.alerts.rate_limit,
        )
        message_id = plan.append_to or await _new_message(
            session, target, plan, level=level, facts=facts, group_key=group_key, now=now
        )
        session.add(AlertMessageEvent(message_id=message_id, event_id=event.id))
    people = sorted({p.id for t in targets for p in t.recipients})
    first = level == policy.first_level(facts)
    session.add(
        AlertStep(
            event_id=event.id,
            at=now,
            action=StepAction.NOTIFIED if first else StepAction.ESCALATED,
            level=level,
            actor="system",
            via=via,
            detail=json.dumps({"recipients": people}, ensure_ascii=False),
        )
    )
    return len(targets)


async def _new_message(
    session: AsyncSession,
    target: Target,
    plan: Plan,
    *,
    level: str,
    facts: EventFacts,
    group_key: str,
    now: datetime,
) -> int:
    message = AlertMessage(
        key=uuid.uuid4().hex,
        channel=target.channel,
        address=target.address,
        level=Level(level),
        school_id=facts.school_id,
        group_key=group_key,
        recipients=json.dumps([p.id for p in target.recipients]),
        status=MessageStatus.PENDING,
        created_at=now,
        due_at=plan.due_at,
        attempts=0,
    )
    session.add(message)
    await session.flush()
    return message.id


async def _histories(
    session: AsyncSession,
    targets: list[Target],
    group_key: str,
    facts: EventFacts,
    policy: AlertPolicy,
    now: datetime,
) -> dict[tuple[str, str], TargetHistory]:
    """What grouping needs to know about every target of one event: a few queries in all."""
    if not targets:
        return {}
    alerts, grouping = policy.alerts, policy.alerts.grouping
    wanted = {(t.channel, t.address) for t in targets}
    channels = AlertMessage.channel.in_({c for c, _ in wanted})
    by_target = (AlertMessage.channel, AlertMessage.address)
    # Locked, so the worker cannot claim them between this look and the join (worker._claim).
    open_rows = await session.execute(
        select(AlertMessage.channel, AlertMessage.address, func.max(AlertMessage.id))
        .where(
            channels,
            AlertMessage.group_key == group_key,
            AlertMessage.status == MessageStatus.PENDING,
            AlertMessage.attempts == 0,
            AlertMessage.due_at > now,
        )
        .group_by(*by_target)
    )
    open_ids = {(c, a): i for c, a, i in open_rows.all()}
    if open_ids:
        await session.execute(
            select(AlertMessage.id).where(AlertMessage.id.in_(open_ids.values())).with_for_update()
        )
    last_group: dict[tuple[str, str], datetime] = {}
    if grouping.window_s > 0 or grouping.dedupe_s > 0:
        horizon = now - timedelta(seconds=max(grouping.window_s, grouping.dedupe_s))
        rows = await session.execute(
            select(AlertMessage.channel, AlertMessage.address, func.max(AlertMessage.due_at))
            .where(channels, AlertMessage.group_key == group_key, AlertMessage.due_at > horizon)
            .group_by(*by_target)
        )
        last_group = {(c, a): at for c, a, at in rows.all()}
    last_same: dict[tuple[str, str], datetime] = {}
    if facts.camera_id is not None and grouping.dedupe_s > 0 and last_group:
        rows = await session.execute(
            select(AlertMessage.channel, AlertMessage.address, func.max(AlertMessage.due_at))
            .join(AlertMessageEvent, AlertMessageEvent.message_id == AlertMessage.id)
            .join(Event, Event.id == AlertMessageEvent.event_id)
            .where(
                channels,
                AlertMessage.group_key == group_key,
                AlertMessage.due_at > now - timedelta(seconds=grouping.dedupe_s),
                Event.camera_id == facts.camera_id,
                Event.type == facts.type,
            )
            .group_by(*by_target)
        )
        last_same = {(c, a): at for c, a, at in rows.all()}
    window_start = now - timedelta(seconds=alerts.rate_limit.window_s)
    counted = await session.execute(
        select(
            AlertMessage.channel, AlertMessage.address, func.count(), func.min(AlertMessage.due_at)
        )
        .where(channels, AlertMessage.due_at > window_start)
        .group_by(*by_target)
    )
    recent = {(c, a): (int(n), oldest) for c, a, n, oldest in counted.all()}
    return {
        key: TargetHistory(
            open_message_id=open_ids.get(key),
            last_group_at=last_group.get(key),
            last_same_at=last_same.get(key),
            recent_count=recent.get(key, (0, None))[0],
            oldest_recent_at=recent.get(key, (0, None))[1],
        )
        for key in wanted
    }
