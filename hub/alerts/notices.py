"""Notices: outbox messages that belong to no event, such as a duty reminder (履职提醒).

Why not an event of its own kind: an event is a violation or a health problem. It is listed
at the event desk, counted in the monthly report, acknowledged, and escalated when nobody
does; a reminder is none of these, and each of those places would need an exception for it.
So a notice is an outbox row of kind "notice" without events, its text rendered when it is
queued (`body`). The same per-channel workers send it, in the same order, with the same
claim-then-send (a crash repeats at most the one in flight) and the same idempotency key.
No alert_state row exists for it, so nothing can escalate it. Its recipients' quiet hours
and duty hours still hold it, up to its deadline; grouping and rate limits do not apply
(the caller queues at most one a day per target). Console channels are left out: the live
stream shows events.

    targets = notice_targets(policy, people)
    await enqueue_notice(session, target, Notice(...), policy=policy, now=now)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub.config.alerts import ConsoleChannel, Recipient
from storage.db.models_alerts import AlertMessage, Level, MessageKind, MessageStatus

from .model import Outgoing, RecipientRef
from .routing import AlertPolicy, Target

__all__ = ["Notice", "enqueue_notice", "notice_outgoing", "notice_targets"]


@dataclass(frozen=True, slots=True)
class Notice:
    type: str  # what receivers file it under: the MQTT topic's last part, JSON `notice`
    title: str
    text: str  # plain text: e-mail, webhook
    markdown: str  # WeCom, DingTalk
    school_id: str | None = None  # the one school it is about, if one


def notice_targets(policy: AlertPolicy, people: Iterable[Recipient]) -> list[Target]:
    """People merged per destination, as for events: two in one WeCom group get one message."""
    consoles = {c.name for c in policy.alerts.channels if isinstance(c, ConsoleChannel)}
    merged: dict[tuple[str, str], list[Recipient]] = {}
    for person in people:
        for channel, address in policy.destinations(person):
            if channel not in consoles:
                merged.setdefault((channel, address), []).append(person)
    return [Target(c, a, tuple(p)) for (c, a), p in merged.items()]


def _level(person: Recipient) -> Level:
    if person.school is not None:
        return Level.SCHOOL
    return Level.TOWN if person.town is not None else Level.DISTRICT


async def enqueue_notice(
    session: AsyncSession,
    target: Target,
    notice: Notice,
    *,
    policy: AlertPolicy,
    now: datetime,
    deadline: datetime | None = None,
) -> AlertMessage:
    """Add the notice's message for `target` to the caller's transaction; the caller commits
    and then wakes the delivery worker. Quiet and duty hours hold it, but not past
    `deadline`: a reminder that would arrive after what it reminds of goes out now."""
    due = policy.allowed_at(target, now, urgent=False)
    if deadline is not None and due >= deadline:
        due = now
    body = {"type": notice.type, "title": notice.title, "text": notice.text,
            "markdown": notice.markdown}  # fmt: skip
    message = AlertMessage(
        key=uuid.uuid4().hex,
        kind=MessageKind.NOTICE,
        channel=target.channel,
        address=target.address,
        level=_level(target.recipients[0]) if target.recipients else Level.DISTRICT,
        school_id=notice.school_id,
        group_key=f"notice:{notice.type}",  # never matches an event's school/kitchen key
        recipients=json.dumps([p.id for p in target.recipients]),
        status=MessageStatus.PENDING,
        created_at=now,
        due_at=due,
        attempts=0,
        body=json.dumps(body, ensure_ascii=False),
    )
    session.add(message)
    return message


def notice_outgoing(message: AlertMessage, recipients: tuple[RecipientRef, ...]) -> Outgoing:
    """A claimed notice as the channels send it."""
    body = json.loads(message.body or "{}")
    return Outgoing(
        key=message.key,
        channel=message.channel,
        address=message.address,
        level=message.level,
        school_id=message.school_id,
        recipients=recipients,
        events=(),
        title=str(body.get("title", "")),
        text=str(body.get("text", "")),
        markdown=str(body.get("markdown", "")),
        created_at=message.created_at,
        notice=str(body.get("type", "notice")),
    )
