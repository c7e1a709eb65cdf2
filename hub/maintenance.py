"""Periodic housekeeping: retention of recordings, expiry of exports, S3 lifecycle rules."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Final

from hub.config import HubConfig
from storage.db.database import Database
from storage.objectstore import ObjectStore, ObjectStoreError
from storage.retention import RetentionPolicy, RetentionReport, apply_retention

log = logging.getLogger(__name__)

INTERVAL_S: Final = 3600.0  # footage expires by the day; hourly keeps the store tidy
_FIRST_RUN_DELAY_S: Final = 60.0  # let cameras connect before the first sweep


def retention_policy(config: HubConfig) -> RetentionPolicy:
    overrides = config.retention.school_overrides
    return RetentionPolicy(
        recordings_days=config.retention.recordings_days,
        clips_days=config.retention.clips_days,
        hard_examples_days=config.retention.hard_examples_days,
        recordings_by_school={
            school: o.recordings_days for school, o in overrides.items() if o.recordings_days
        },
        clips_by_school={school: o.clips_days for school, o in overrides.items() if o.clips_days},
    )


class MaintenanceJob:
    def __init__(
        self,
        db: Database,
        store: ObjectStore,
        policy: RetentionPolicy,
        school_ids: list[str],
        *,
        expire_exports: Callable[[datetime], Awaitable[int]] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = db
        self._store = store
        self._policy = policy
        self._school_ids = school_ids
        self._expire_exports = expire_exports
        self._now = now
        self._lifecycle_applied = False
        self._task: asyncio.Task[None] | None = None
        self.last_report: RetentionReport | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="maintenance")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_once(self) -> RetentionReport:
        now = self._now()
        if not self._lifecycle_applied:
            rules = self._policy.lifecycle_rules(self._school_ids)
            applied = await self._store.apply_lifecycle(rules)
            self._lifecycle_applied = True
            if applied:
                log.info("object store lifecycle rules set for %d school(s)", len(rules))
        report = await apply_retention(self._db, self._store, self._policy, now=now)
        if self._expire_exports is not None:
            await self._expire_exports(now)
        self.last_report = report
        return report

    async def _loop(self) -> None:
        await asyncio.sleep(_FIRST_RUN_DELAY_S)
        while True:
            try:
                await self.run_once()
            except ObjectStoreError as exc:
                log.warning("housekeeping postponed, object store unavailable: %s", exc)
            except Exception:
                log.exception("housekeeping failed; next try in an hour")
            await asyncio.sleep(INTERVAL_S)
