"""Several hubs share one outbox on PostgreSQL: every alert is delivered exactly once among
them, and a worker killed mid-batch leaves its claimed messages to the others."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.alerts.outbox import raise_event
from hub.alerts.routing import AlertPolicy
from storage.db.database import Database
from storage.db.models_alerts import AlertMessage
from tests.alert_receivers import WEBHOOK_SECRET, HttpReceiver
from tests.alert_worker_proc import kill, spawn
from tests.alerting import hub_config, routing, seed_registry, violation
from tests.waiting import eventually

EVENTS = 60
WORKERS = 3


async def _count(db: Database, *where: object) -> int:
    async with db.session() as session:
        query = select(func.count()).select_from(AlertMessage).where(*where)
        return int(await session.scalar(query) or 0)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_three_workers_deliver_each_alert_once_and_survive_a_kill(
    no_lingering_tasks: None, db: Database, db_url: str
) -> None:
    # Slow enough that a batch takes seconds: the workers poll while others hold claims.
    receiver = HttpReceiver(delay_s=0.2).start()
    alerts = routing(
        [{"type": "webhook", "name": "hook", "url": receiver.hook_url, "secret": WEBHOOK_SECRET}]
    )
    config = hub_config(alerts)
    await seed_registry(db, config)
    policy = AlertPolicy(config)
    workers = [await spawn(db_url, alerts) for _ in range(WORKERS)]
    try:
        cameras = ["dcxx-hot", "dcyey-hot", "sfsy-hot"]
        for n in range(EVENTS):
            async with db.session() as session:
                await raise_event(session, violation(cameras[n % 3], "rat"), policy=policy)
        await eventually(lambda: len(receiver.messages) >= 15, within=90, what="some alerts")
        duplicates_before_kill = sum(count - 1 for count in receiver.keys.values())
        await kill(workers[0])  # mid-batch: it holds claims on messages it never sent
        await eventually(lambda: len(receiver.unique()) == EVENTS, within=120, what="all alerts")

        async def drained() -> bool:
            return await _count(db, AlertMessage.status == "pending") == 0

        await eventually(drained, within=60, what="no message left pending")
        async with db.session() as session:
            senders = set(
                await session.scalars(
                    select(AlertMessage.claimed_by).where(AlertMessage.status == "sent")
                )
            )
    finally:
        for worker in workers:
            await kill(worker)
        receiver.stop()
    assert duplicates_before_kill == 0, "two live workers sent one message"
    assert len(receiver.keys) == EVENTS
    # At most the one message the killed worker had in flight is repeated, with the same key.
    assert sum(count - 1 for count in receiver.keys.values()) <= 1
    assert len(senders) >= 2, f"one worker did all the work: {senders}"
    assert await _count(db) == EVENTS
