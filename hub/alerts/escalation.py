"""Escalation: an event nobody acknowledged climbs to the town, then to the district.

One task checks every `escalation.check_every_s`; tests call `run_once()` with an injected
clock instead of waiting minutes. Each step writes the messages for the new level and an
`escalated` step in one transaction, so a crash cannot half-escalate an event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Final

from sqlalchemy import select

from hub.tasks import cancel_and_wait
from storage.db.database import Database
from storage.db.models import Event
from storage.db.models_alerts import AlertState, Level

from .model import Clock
from .outbox import enqueue
from .routing import AlertPolicy

log = logging.getLogger(__name__)

__all__ = ["Escalator"]

_BATCH: Final = 100  # events escalated per transaction; the rest follow at once


class Escalator:
    def __init__(
        self,
        db: Database,
        *,
        policy: AlertPolicy,
        clock: Clock,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._db = db
        self._policy = policy
        self._clock = clock
        self._on_enqueued = on_enqueued
        self._task: asyncio.Task[None] | None = None
        self.escalated = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="alerts:escalation")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _loop(self) -> None:
        every = self._policy.alerts.escalation.check_every_s
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("alerts: escalation check failed; retrying in %.0f s", every)
            await asyncio.sleep(every)

    async def run_once(self) -> int:
        """Escalate every event whose time has come; return how many steps were taken."""
        total = 0
        while True:
            steps = await self._batch()
            total += steps
            if steps < _BATCH:
                break
        if total:
            self.escalated += total
            self._on_enqueued()
        return total

    async def _batch(self) -> int:
        now = self._clock()
        policy = self._policy
        async with self._db.session() as session:
            rows = (
                await session.execute(
                    select(AlertState, Event)
                    .join(Event, Event.id == AlertState.event_id)
                    .where(
                        AlertState.next_escalation_at <= now,
                        Event.acknowledged_at.is_(None),
                    )
                    .order_by(AlertState.next_escalation_at)
                    .limit(_BATCH)
                    .with_for_update(of=AlertState)
                )
            ).all()
            steps = 0
            for state, event in rows:
                facts = policy.describe(event)
                climb_to_town = state.level == Level.SCHOOL and state.town_at is not None
                level = Level.TOWN if climb_to_town else Level.DISTRICT
                await enqueue(
                    session, event, facts, level=level, policy=policy, now=now, via="escalation"
                )
                state.level = level
                state.next_escalation_at = state.district_at if level == Level.TOWN else None
                steps += 1
                log.info("alerts: event %s escalated to %s", event.id, level)
            return steps
