"""The delivery worker: one task per channel sends due outbox messages in order.

Per channel, messages go out oldest first; a retriable failure stops that channel's queue
(so a school's alerts stay in order) and waits with capped exponential backoff and jitter;
other channels carry on in their own tasks. Each message is claimed (attempts + 1, committed)
before it is rendered and sent and marked sent right after, so a crash repeats at most the
one message in flight, with the same idempotency key. Notices (notices.py) have no events
and go through the same queue.

Several hubs may share one outbox on PostgreSQL. A claim names its worker and lasts one send
(claimed_until); rows already locked by another worker's claim are skipped. Before each send the
worker renews its claim on that one message, compare-and-set on its own name: a message whose
claim lapsed while earlier ones of the batch went out, and that another worker took, is left
to that worker. A worker killed mid-batch holds its messages only until the claims lapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, or_, select, update

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
_CLAIM_MARGIN_S: Final = 5.0  # a claim outlasts the longest send by this much


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
        self.name = uuid.uuid4().hex  # this worker's name on its claims

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
        try:  # another hub need not wait for the claims of one that stopped to lapse
            await self._release_claims(None)
        except Exception:
            log.exception("alerts: cannot release this worker's claims")

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
                batch = await self._claim(channel)
            except Exception:
                log.exception("alerts: cannot read the outbox of channel %s", name)
                batch = []
            if not batch:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(cfg.poll_s):
                        await wake.wait()
                continue
            for n, (message_id, message) in enumerate(batch):
                if not await self._renew(channel, message_id):
                    continue  # its claim lapsed and another worker holds it now
                if not await self._deliver(channel, message_id, message):
                    # The rest of the batch waits behind this one, in order, claimable again.
                    try:
                        await self._release_claims([later for later, _ in batch[n + 1 :]])
                    except Exception:  # they wait for their claims to lapse
                        log.exception("alerts: cannot release the claims of channel %s", name)
                    # A dead receiver is not hammered by new alerts: the wait is not woken.
                    await asyncio.sleep(backoff.next_delay())
                    break
                backoff.reset()

    def _lease(self, channel: Channel) -> timedelta:
        return timedelta(seconds=channel.timeout_s + _GRACE_S + _CLAIM_MARGIN_S)

    async def _claim(self, channel: Channel) -> list[tuple[int, Outgoing]]:
        """Claim the channel's due messages, oldest first, and render them: one transaction.

        Claiming counts an attempt. The UPDATE locks the rows, so an event joining one of them
        (outbox._history) either committed before and is rendered here, or sees attempts > 0
        and starts a new message. On PostgreSQL, rows another worker is claiming right now are
        skipped, and the UPDATE takes only rows whose claim is still free when it runs.
        """
        now = self._clock()
        free = or_(AlertMessage.claimed_until.is_(None), AlertMessage.claimed_until <= now)
        async with self._db.session() as session:
            ids = list(
                await session.scalars(
                    select(AlertMessage.id)
                    .where(
                        AlertMessage.channel == channel.name,
                        AlertMessage.status == MessageStatus.PENDING,
                        AlertMessage.due_at <= now,
                        free,
                    )
                    .order_by(AlertMessage.id)
                    .limit(_BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return []
            claimed = await session.scalars(
                update(AlertMessage)
                .where(AlertMessage.id.in_(ids), AlertMessage.status == MessageStatus.PENDING, free)
                .values(
                    attempts=AlertMessage.attempts + 1,
                    claimed_by=self.name,
                    claimed_until=now + self._lease(channel),
                )
                .returning(AlertMessage.id)
            )
            ids = list(claimed)
            messages = list(
                await session.scalars(
                    select(AlertMessage).where(AlertMessage.id.in_(ids)).order_by(AlertMessage.id)
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

    async def _renew(self, channel: Channel, message_id: int) -> bool:
        """Extend this worker's claim on one message for one send; False if it holds it no more.

        A database error is a False too: the message is sent once its claim lapses."""
        try:
            async with self._db.session() as session:
                renewed = await session.scalars(
                    update(AlertMessage)
                    .where(
                        AlertMessage.id == message_id,
                        AlertMessage.status == MessageStatus.PENDING,
                        AlertMessage.claimed_by == self.name,
                    )
                    .values(claimed_until=self._clock() + self._lease(channel))
                    .returning(AlertMessage.id)
                )
                return renewed.first() is not None
        except Exception:
            log.exception("alerts: cannot renew the claim on message %d", message_id)
            return False

    async def _finish(
        self, message_id: int, status: MessageStatus, *, sent_at: datetime | None, error: str | None
    ) -> None:
        # claimed_by stays: which worker sent it. A retry is free to be claimed at once.
        async with self._db.session() as session:
            await session.execute(
                update(AlertMessage)
                .where(AlertMessage.id == message_id)
                .values(
                    status=status,
                    sent_at=sent_at,
                    last_error=error and error[:2000],
                    claimed_until=None,
                )
            )

    async def _release_claims(self, ids: list[int] | None = None) -> None:
        """Free this worker's claims on the given pending messages (None: on all of them)."""
        mine = [AlertMessage.claimed_by == self.name, AlertMessage.status == MessageStatus.PENDING]
        if ids is not None:
            if not ids:
                return
            mine.append(AlertMessage.id.in_(ids))
        async with self._db.session() as session:
            await session.execute(update(AlertMessage).where(*mine).values(claimed_until=None))

    async def pending(self) -> dict[str, int]:
        async with self._db.session() as session:
            rows = await session.execute(
                select(AlertMessage.channel, func.count())
                .where(AlertMessage.status == MessageStatus.PENDING)
                .group_by(AlertMessage.channel)
            )
            return {name: int(count) for name, count in rows.all()}
