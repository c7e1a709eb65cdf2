"""Health history and health events in the database, written in order by one task.

A raised problem opens a `camera_health_log` row and, when its check notifies, records a
health event through the alerts outbox in the same transaction (school first, then the
town and district by the alerts escalation). A cleared problem closes both, and stops the
event's escalation: nobody needs to be chased about a camera that works again.

A camera this hub stops watching while others may take it (`release`) is not recovered: its
open rows and events stay open, only this hub stops judging it. Whoever watches it next
(`adopt`) takes those rows over: a problem it finds again continues the open row, one it
finds gone is closed by it, none is opened twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config.health import CheckName
from storage.db.database import Database
from storage.db.models import Event
from storage.db.models_alerts import AlertState
from storage.db.models_health import MONITORING, HealthPeriod

from .model import Change, ChangeKind, Problem
from .rules import Rule

__all__ = ["EVENT_TYPES", "HealthStore", "RaiseEvent"]

log = logging.getLogger(__name__)

RaiseEvent = Callable[[AsyncSession, Event], Awaitable[Event]]
_Job = Callable[[AsyncSession], Awaitable[None]]  # run by the writer, in order with changes

_QUEUE_LIMIT: Final = 10_000  # batches of changes; only reached if the database is stuck
# Event types as the alerts routing names them (hub.alerts.routing.TYPE_LABELS).
EVENT_TYPES: Final[dict[CheckName, str]] = {
    CheckName.OFFLINE: "camera_offline",
    CheckName.FROZEN: "frozen",
    CheckName.BLACK: "black",
    CheckName.OVEREXPOSED: "overexposed",
    CheckName.BLURRED: "blurred",
    CheckName.COVERED: "covered",
    CheckName.MOVED: "moved",
    CheckName.LOW_FPS: "low_fps",
    CheckName.LOW_BITRATE: "low_bitrate",
    CheckName.KEYFRAMES: "keyframes",
    CheckName.CLOCK: "clock_drift",
    CheckName.STREAM_CLOCK: "stream_clock",
    CheckName.RECORDING_GAP: "recording_gap",
    CheckName.SPOOL: "spool_full",
    CheckName.OBJECT_STORE: "storage_failing",
    CheckName.DETECTOR: "detector_backlog",
}
_INFO_ONLY = frozenset(
    {CheckName.LOW_FPS, CheckName.LOW_BITRATE, CheckName.KEYFRAMES, CheckName.STREAM_CLOCK}
)


def _detail(problem: Problem) -> str:
    facts = {"check": str(problem.check), "reason": problem.reason, "detail": problem.detail}
    return json.dumps(facts, ensure_ascii=False)


class HealthStore:
    def __init__(
        self,
        db: Database,
        rules: dict[CheckName, Rule],
        *,
        raise_event: RaiseEvent | None,
        shared: bool = False,
    ) -> None:
        self._db = db
        # shared: several cluster nodes write this database, and what is open belongs to the
        # node watching that camera now (its next watcher adopts it), not to a previous run.
        self._shared = shared
        self._rules = rules
        self._raise_event = raise_event
        self._queue: asyncio.Queue[list[Change] | _Job | None] = asyncio.Queue(_QUEUE_LIMIT + 1)
        self._task: asyncio.Task[None] | None = None
        self._open: dict[tuple[str | None, CheckName], int] = {}  # open row ids
        self._monitoring: int | None = None
        self.dropped = 0

    async def start(self, now: datetime) -> None:
        """Close what a previous run left open (at its last heartbeat) and start watching."""
        async with self._db.session() as session:
            last = await session.scalar(
                select(HealthPeriod.ended_at)
                .where(HealthPeriod.check == MONITORING)
                .order_by(HealthPeriod.id.desc())
                .limit(1)
            )
            if not self._shared:
                stale = HealthPeriod.ended_at.is_(None)
                await session.execute(
                    update(HealthPeriod).where(stale).values(ended_at=last or now)
                )
            row = HealthPeriod(check=MONITORING, reason="", started_at=now, ended_at=now)
            session.add(row)
            await session.flush()
            self._monitoring = row.id
        self._task = asyncio.create_task(self._run(), name="health:store")

    async def stop(self, now: datetime) -> None:
        if self._task is None:
            return
        self._queue.put_nowait(None)
        await self._task
        self._task = None
        await self.heartbeat(now)

    def submit(self, changes: list[Change]) -> None:
        if not changes:
            return
        if self._queue.qsize() < _QUEUE_LIMIT:
            self._queue.put_nowait(changes)
        else:
            self.dropped += len(changes)
            log.error("health: %d changes not persisted (database backlog)", len(changes))

    def adopt(self, camera_id: str, found: Callable[[list[Problem]], None]) -> None:
        """Take over the camera's open rows (left by its previous watcher); `found` gets
        them as problems once read, to judge them from then on."""

        async def job(session: AsyncSession) -> None:
            rows = await session.scalars(
                select(HealthPeriod).where(
                    HealthPeriod.camera_id == camera_id, HealthPeriod.ended_at.is_(None)
                )
            )
            problems = []
            for row in rows:
                try:
                    check = CheckName(row.check)
                except ValueError:
                    continue  # a check this version does not know
                self._open.setdefault((camera_id, check), row.id)
                problems.append(Problem(camera_id, check, row.reason, row.detail or "",
                                        row.started_at))  # fmt: skip
            found(problems)

        self._put(job)

    def release(self, camera_id: str) -> None:
        """Stop writing for the camera; its open rows stay open for the next watcher."""

        async def job(_session: AsyncSession) -> None:
            for key in [k for k in self._open if k[0] == camera_id]:
                del self._open[key]

        self._put(job)

    def _put(self, job: _Job) -> None:
        if self._queue.qsize() < _QUEUE_LIMIT:
            self._queue.put_nowait(job)
        else:
            log.error("health: camera hand-over not persisted (database backlog)")

    async def heartbeat(self, now: datetime) -> None:
        """The hub is still watching: extend the monitoring period."""
        if self._monitoring is None:
            return
        try:
            async with self._db.session() as session:
                await session.execute(
                    update(HealthPeriod)
                    .where(HealthPeriod.id == self._monitoring)
                    .values(ended_at=now)
                )
        except Exception:
            log.exception("health: heartbeat not written")

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            try:
                async with self._db.session() as session:
                    if callable(item):
                        await item(session)
                        continue
                    for change in item:
                        await self._write(session, change)
            except Exception:
                what = "a camera hand-over" if callable(item) else f"{len(item)} changes"
                log.exception("health: cannot persist %s", what)

    async def _write(self, session: AsyncSession, change: Change) -> None:
        problem = change.problem
        key = (problem.camera_id, problem.check)
        if change.kind is ChangeKind.RAISED and key not in self._open:  # else: adopted
            event_id = await self._event(session, problem)
            opened = HealthPeriod(
                camera_id=problem.camera_id,
                check=str(problem.check),
                reason=problem.reason,
                detail=problem.detail,
                started_at=problem.since,
                event_id=event_id,
            )
            session.add(opened)
            await session.flush()
            self._open[key] = opened.id
            return
        row_id = self._open.get(key)
        if row_id is None:
            return
        row = await session.get(HealthPeriod, row_id)
        if row is None:
            return
        event = await session.get(Event, row.event_id) if row.event_id else None
        if change.kind is not ChangeKind.CLEARED:  # a new reason, or raised again: adopted
            row.reason, row.detail = problem.reason, problem.detail
            if event is not None:
                event.detail, event.updated_at = _detail(problem), change.at
            return
        del self._open[key]
        row.ended_at = change.at
        if event is not None:
            event.ended_at = event.updated_at = change.at
            await session.execute(
                update(AlertState)
                .where(AlertState.event_id == event.id)
                .values(next_escalation_at=None)
            )

    async def _event(self, session: AsyncSession, problem: Problem) -> str | None:
        rule = self._rules.get(problem.check)
        if rule is None or not rule.notify:
            return None
        event = Event(
            kind="health",
            type=EVENT_TYPES[problem.check],
            severity="info" if problem.check in _INFO_ONLY else "warning",
            camera_id=problem.camera_id,
            started_at=problem.since,
            updated_at=problem.since,
            detail=_detail(problem),
        )
        if self._raise_event is not None:
            await self._raise_event(session, event)
        else:  # no alerts service: the event is still recorded for the console
            event.id = uuid.uuid4().hex
            session.add(event)
            await session.flush()
        return event.id
