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
    targets = policy.targets(facts, level)
    group_key = policy.group_key(facts, level)
    for target in targets:
        history = await _history(session, target, group_key, facts, policy, now)
        plan = plan_delivery(
            history,
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


async def _history(
    session: AsyncSession,
    target: Target,
    group_key: str,
    facts: EventFacts,
    policy: AlertPolicy,
    now: datetime,
) -> TargetHistory:
    alerts = policy.alerts
    to_target = (AlertMessage.channel == target.channel, AlertMessage.address == target.address)
    # Locked, so the worker cannot claim it between this look and the join (see worker.claim).
    open_id = await session.scalar(
        select(AlertMessage.id)
        .where(
            *to_target,
            AlertMessage.group_key == group_key,
            AlertMessage.status == MessageStatus.PENDING,
            AlertMessage.attempts == 0,
            AlertMessage.due_at > now,
        )
        .order_by(AlertMessage.id.desc())
        .limit(1)
        .with_for_update()
    )
    horizon = now - timedelta(seconds=max(alerts.grouping.window_s, alerts.grouping.dedupe_s))
    last_group_at = await session.scalar(
        select(func.max(AlertMessage.due_at)).where(
            *to_target, AlertMessage.group_key == group_key, AlertMessage.due_at > horizon
        )
    )
    last_same_at = None
    if facts.camera_id is not None and alerts.grouping.dedupe_s > 0:
        last_same_at = await session.scalar(
            select(func.max(AlertMessage.due_at))
            .join(AlertMessageEvent, AlertMessageEvent.message_id == AlertMessage.id)
            .join(Event, Event.id == AlertMessageEvent.event_id)
            .where(
                *to_target,
                AlertMessage.group_key == group_key,
                AlertMessage.due_at > now - timedelta(seconds=alerts.grouping.dedupe_s),
                Event.camera_id == facts.camera_id,
                Event.type == facts.type,
            )
        )
    window_start = now - timedelta(seconds=alerts.rate_limit.window_s)
    recent, oldest = (
        await session.execute(
            select(func.count(), func.min(AlertMessage.due_at)).where(
                *to_target, AlertMessage.due_at > window_start
            )
        )
    ).one()
    return TargetHistory(
        open_message_id=open_id,
        last_group_at=last_group_at,
        last_same_at=last_same_at,
        recent_count=int(recent),
        oldest_recent_at=oldest,
    )
