"""The delivery worker: one task per channel sends due outbox messages in order.

Per channel, messages go out oldest first; a retriable failure stops that channel's queue
(so a school's alerts stay in order) and waits with capped exponential backoff and jitter;
other channels carry on in their own tasks. Each message is claimed (attempts + 1, committed)
before it is rendered and sent and marked sent right after, so a crash repeats at most the
one message in flight, with the same idempotency key. Notices (notices.py) have no events
and go through the same queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Final

from sqlalchemy import func, select, update

from hub.config.alerts import DeliveryConfig
from hub.ingest.backoff import Backoff
from storage.db.database import Database
from storage.db.models import Event
from storage.db.models_alerts import (
    AlertMessage,
    AlertMessageEvent,
    MessageKind,
    MessageStatus,
)

from .channels import Channel
from .errors import DeliveryError
from .health import ChannelHealth
from .model import Clock, Outgoing, RecipientRef
from .notices import notice_outgoing
from .render import Renderer
from .routing import AlertPolicy

log = logging.getLogger(__name__)

__all__ = ["DeliveryWorker", "SnapshotSource"]

SnapshotSource = Callable[[str], Awaitable[bytes | None]]
_BATCH: Final = 20  # due messages claimed per transaction; order is kept across rounds
_GRACE_S: Final = 5.0  # on top of the channel's own timeout before a send is abandoned


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        *,
        policy: AlertPolicy,
        renderer: Renderer,
        channels: dict[str, Channel],
        health: dict[str, ChannelHealth],
        delivery: DeliveryConfig,
        clock: Clock,
        snapshots: SnapshotSource | None = None,
    ) -> None:
        self._db = db
        self._policy = policy
        self._renderer = renderer
        self._channels = channels
        self._health = health
        self._cfg = delivery
        self._clock = clock
        self._snapshots = snapshots
        self._wakes = {name: asyncio.Event() for name in channels}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self) -> None:
        for name in self._channels:
            if name not in self._tasks:
                self._tasks[name] = asyncio.create_task(
                    self._run(name), name=f"alerts:deliver:{name}"
                )

    async def stop(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        """New messages were committed: look now instead of at the next poll."""
        for event in self._wakes.values():
            event.set()

    async def _run(self, name: str) -> None:
        channel, wake = self._channels[name], self._wakes[name]
        cfg = self._cfg
        backoff = Backoff(
            initial_s=cfg.backoff_initial_s, max_s=cfg.backoff_max_s, jitter=cfg.backoff_jitter
        )
        while True:
            wake.clear()
            try:
                batch = await self._claim(name)
            except Exception:
                log.exception("alerts: cannot read the outbox of channel %s", name)
                batch = []
            if not batch:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(cfg.poll_s):
                        await wake.wait()
                continue
            for message_id, message in batch:
                if not await self._deliver(channel, message_id, message):
                    # A dead receiver is not hammered by new alerts: the wait is not woken.
                    await asyncio.sleep(backoff.next_delay())
                    break
                backoff.reset()

    async def _claim(self, name: str) -> list[tuple[int, Outgoing]]:
        """Claim the channel's due messages, oldest first, and render them: one transaction.

        Claiming counts an attempt. The UPDATE locks the rows, so an event joining one of them
        (outbox._history) either committed before and is rendered here, or sees attempts > 0
        and starts a new message.
        """
        now = self._clock()
        async with self._db.session() as session:
            ids = list(
                await session.scalars(
                    select(AlertMessage.id)
                    .where(
                        AlertMessage.channel == name,
                        AlertMessage.status == MessageStatus.PENDING,
                        AlertMessage.due_at <= now,
                    )
                    .order_by(AlertMessage.id)
                    .limit(_BATCH)
                )
            )
            if not ids:
                return []
            await session.execute(
                update(AlertMessage)
                .where(AlertMessage.id.in_(ids), AlertMessage.status == MessageStatus.PENDING)
                .values(attempts=AlertMessage.attempts + 1)
            )
            messages = list(
                await session.scalars(
                    select(AlertMessage)
                    .where(AlertMessage.id.in_(ids), AlertMessage.status == MessageStatus.PENDING)
                    .order_by(AlertMessage.id)
                )
            )
            events: dict[int, list[Event]] = {}
            rows = await session.execute(
                select(AlertMessageEvent.message_id, Event)
                .join(Event, Event.id == AlertMessageEvent.event_id)
                .where(AlertMessageEvent.message_id.in_(ids))
                .order_by(Event.started_at, Event.id)
            )
            for message_id, event in rows.all():
                events.setdefault(message_id, []).append(event)
        return [
            (msg.id, self._render(msg, events.get(msg.id, []), now))
            for msg in messages
            if msg.id in events or msg.kind == MessageKind.NOTICE
        ]

    def _render(self, msg: AlertMessage, events: list[Event], now: datetime) -> Outgoing:
        if msg.kind == MessageKind.NOTICE:  # no event: its text was rendered when queued
            return notice_outgoing(msg, self._recipients(msg.recipients))
        return self._renderer.render(
            key=msg.key,
            channel=msg.channel,
            address=msg.address,
            level=msg.level,
            school_id=msg.school_id,
            recipients=self._recipients(msg.recipients),
            events=events,
            created_at=msg.created_at,
            now=now,
        )

    def _recipients(self, ids_json: str) -> tuple[RecipientRef, ...]:
        refs = []
        for rid in json.loads(ids_json):
            person = self._policy.recipient(rid)
            if person is None:
                refs.append(RecipientRef(id=rid, name=rid))
            else:
                refs.append(RecipientRef(rid, person.name, person.mobile, person.email))
        return tuple(refs)

    async def _with_snapshot(self, channel: Channel, message: Outgoing) -> Outgoing:
        key = message.first.snapshot_key if message.events else None
        if not channel.wants_snapshot or key is None or self._snapshots is None:
            return message
        try:
            image = await self._snapshots(key)
        except Exception as exc:  # the alert goes out without its picture
            log.warning("alerts: snapshot %s unavailable: %s", key, exc)
            return message
        if image is None or len(image) > self._cfg.max_snapshot_bytes:
            return message
        return replace(message, snapshot=image, snapshot_name=key.rsplit("/", 1)[-1])

    async def _deliver(self, channel: Channel, message_id: int, message: Outgoing) -> bool:
        """Send one claimed message; False when the channel should back off."""
        health = self._health[channel.name]
        message = await self._with_snapshot(channel, message)
        error: str | None = None
        fatal = False
        try:
            async with asyncio.timeout(channel.timeout_s + _GRACE_S):
                await channel.send(message)
        except DeliveryError as exc:
            error, fatal = str(exc), not exc.retriable
        except TimeoutError:
            error = f"no answer within {channel.timeout_s + _GRACE_S:.0f} s"
        except Exception as exc:  # a bug in an adapter must not lose the alert: retry it
            log.exception("alerts: channel %s crashed while sending", channel.name)
            error = f"{type(exc).__name__}: {exc}"
        now = self._clock()
        if error is None:
            health.success(now)
            status, ok = MessageStatus.SENT, True
        else:
            health.failure(error, now, fatal=fatal)
            status, ok = (MessageStatus.FAILED if fatal else MessageStatus.PENDING), fatal
        try:
            sent_at = now if error is None else None
            await self._finish(message_id, status, sent_at=sent_at, error=error)
        except Exception:  # stays pending: sent again later with the same key
            log.exception("alerts: cannot record the outcome of message %d", message_id)
            return False
        return ok

    async def _finish(
        self, message_id: int, status: MessageStatus, *, sent_at: datetime | None, error: str | None
    ) -> None:
        async with self._db.session() as session:
            await session.execute(
                update(AlertMessage)
                .where(AlertMessage.id == message_id)
                .values(status=status, sent_at=sent_at, last_error=error and error[:2000])
            )

    async def pending(self) -> dict[str, int]:
        async with self._db.session() as session:
            rows = await session.execute(
                select(AlertMessage.channel, func.count())
                .where(AlertMessage.status == MessageStatus.PENDING)
                .group_by(AlertMessage.channel)
            )
            return {name: int(count) for name, count in rows.all()}
