"""kill -9 of the hub with alerts pending: after a restart every alert arrives, none twice
as a receiver that honours the idempotency key sees them."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.alerts.outbox import raise_event
from hub.alerts.routing import AlertPolicy
from storage.db.database import Database
from storage.db.models_alerts import AlertMessage
from tests.alert_receivers import WEBHOOK_SECRET, HttpReceiver
from tests.alert_worker_proc import kill, spawn
from tests.alerting import hub_config, routing, seed_registry, violation
from tests.waiting import eventually

EVENTS = 20


async def _pending(db: Database) -> int:
    async with db.session() as session:
        query = select(func.count()).where(AlertMessage.status == "pending")
        return int(await session.scalar(query.select_from(AlertMessage)) or 0)


async def test_kill_9_with_alerts_pending_delivers_each_once_after_restart(
    no_lingering_tasks: None, db: Database, db_url: str
) -> None:
    receiver = HttpReceiver(delay_s=0.05).start()  # slow enough to be killed mid-stream
    alerts = routing(
        [{"type": "webhook", "name": "hook", "url": receiver.hook_url, "secret": WEBHOOK_SECRET}]
    )
    config = hub_config(alerts)
    await seed_registry(db, config)
    policy = AlertPolicy(config)
    cameras = ["dcxx-hot", "dcyey-hot", "sfsy-hot"]
    for n in range(EVENTS):
        async with db.session() as session:
            await raise_event(session, violation(cameras[n % 3], "rat"), policy=policy)
    try:
        first = await spawn(db_url, alerts)
        await eventually(lambda: len(receiver.messages) >= 5, within=60, what="some alerts")
        await kill(first)
        left = await _pending(db)
        assert left > 0, "the kill came too late to leave alerts pending"
        second = await spawn(db_url, alerts)
        try:
            await eventually(lambda: len(receiver.unique()) == EVENTS, within=60, what="all")

            async def drained() -> bool:
                return await _pending(db) == 0

            await eventually(drained, within=30, what="no message left pending")
        finally:
            await kill(second)
    finally:
        receiver.stop()
    assert len(receiver.keys) == EVENTS
    # At most the one message in flight at the kill is repeated, with the same key.
    assert sum(count - 1 for count in receiver.keys.values()) <= 1
