"""The district's daily digest: every camera problem still open, as one health event.

It is an event of the whole district (no school), so the alerts routing sends it to the
district's recipients; its detail lists the problems for the console. At most one per local
day, also across restarts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from hub.config import HubConfig
from storage.db.database import Database
from storage.db.models import Event

from .model import Problem
from .store import RaiseEvent

__all__ = ["DIGEST_TYPE", "DigestJob", "next_digest_at"]

log = logging.getLogger(__name__)

DIGEST_TYPE = "health_digest"


def next_digest_at(now: datetime, tz: ZoneInfo, hour: int, minute: int) -> datetime:
    """The first digest time after `now` (aware), in UTC."""
    local = now.astimezone(tz)
    today = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return (today if today > local else today + timedelta(days=1)).astimezone(UTC)


class DigestJob:
    def __init__(
        self,
        config: HubConfig,
        db: Database,
        problems: Callable[[], list[Problem]],
        *,
        raise_event: RaiseEvent | None,
    ) -> None:
        self._config = config
        self._db = db
        self._problems = problems
        self._raise_event = raise_event
        self._tz = ZoneInfo(config.district.timezone)

    async def run_forever(self) -> None:
        at = self._config.health.digest_at
        if at is None:
            return
        while True:
            now = datetime.now(UTC)
            due = next_digest_at(now, self._tz, at.hour, at.minute)
            await asyncio.sleep((due - now).total_seconds())
            try:
                await self.send(datetime.now(UTC))
            except Exception:
                log.exception("health: daily digest failed")

    async def send(self, now: datetime) -> Event | None:
        """Record today's digest unless one exists or nothing is broken."""
        open_problems = [p for p in self._problems() if p.camera_id is not None]
        if not open_problems:
            return None
        local_day = now.astimezone(self._tz).replace(hour=0, minute=0, second=0, microsecond=0)
        async with self._db.session() as session:
            sent = await session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.type == DIGEST_TYPE, Event.started_at >= local_day.astimezone(UTC))
            )
            if sent:
                return None
            cameras = sorted({p.camera_id for p in open_problems if p.camera_id})
            items = [
                {
                    "camera_id": p.camera_id,
                    "school_id": self._school_of(p.camera_id),
                    "check": str(p.check),
                    "reason": p.reason,
                    "detail": p.detail,
                    "since": p.since.isoformat(),
                }
                for p in sorted(open_problems, key=lambda p: (p.camera_id or "", p.since))
            ]
            summary = f"{len(cameras)} 个摄像头仍有故障，共 {len(items)} 项"
            event = Event(
                kind="health",
                type=DIGEST_TYPE,
                severity="info",
                started_at=now,
                ended_at=now,
                updated_at=now,
                detail=json.dumps({"summary": summary, "problems": items}, ensure_ascii=False),
            )
            if self._raise_event is not None:
                await self._raise_event(session, event)
            else:
                event.id = uuid.uuid4().hex
                session.add(event)
        log.info("health: daily digest sent: %s", summary)
        return event

    def _school_of(self, camera_id: str | None) -> str | None:
        try:
            return self._config.school_of(camera_id or "").id
        except KeyError:
            return None
