"""The outbox and its worker on SQLite and PostgreSQL: one transaction with the event, delivery
through a receiver outage exactly once and in order, escalation by an injected clock, grouping
and rate limits, and bad channels that are reported without blocking anything."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.alerts import AlertService, ChannelState
from hub.alerts.outbox import raise_event
from hub.alerts.routing import AlertPolicy
from storage.db.database import Database
from storage.db.models import Event
from storage.db.models_alerts import AlertMessage, AlertMessageEvent, AlertStep
from tests.alert_receivers import WEBHOOK_SECRET, HttpReceiver, free_port
from tests.alerting import T0, FakeClock, hub_config, routing, seed_registry, violation
from tests.waiting import eventually


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    http = HttpReceiver().start()
    yield http
    http.stop()


def _hook(http: HttpReceiver) -> dict[str, Any]:
    return {"type": "webhook", "name": "hook", "url": http.hook_url, "secret": WEBHOOK_SECRET}


@pytest.fixture
async def service_for(db: Database) -> AsyncIterator[Any]:
    """Build, seed and start an AlertService for an alerts config; stopped afterwards."""
    started: list[AlertService] = []

    async def build(alerts: dict[str, Any], **kw: Any) -> AlertService:
        config = hub_config(alerts)
        await seed_registry(db, config)
        service = AlertService(config, db, **kw)
        await service.start()
        started.append(service)
        return service

    yield build
    for service in started:
        await service.stop()


async def _raise(db: Database, service: AlertService, camera: str, kind: str = "rat") -> str:
    async with db.session() as session:
        event = await service.raise_event(session, violation(camera, kind, at=service.clock()))
        return event.id


async def _none_pending(db: Database) -> bool:
    """The receiver has an alert a moment before the worker commits that it was sent."""
    async with db.session() as session:
        query = select(func.count()).where(AlertMessage.status == "pending")
        return await session.scalar(query) == 0


async def test_event_and_its_alerts_commit_or_vanish_together(
    no_lingering_tasks: None, db: Database, service_for: Any, receiver: HttpReceiver
) -> None:
    service = await service_for(routing([_hook(receiver)]))
    with pytest.raises(RuntimeError, match="detector crashed"):
        async with db.session() as session:
            await service.raise_event(session, violation("dcxx-hot"))
            raise RuntimeError("detector crashed")
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Event)) == 0
        assert await session.scalar(select(func.count()).select_from(AlertMessage)) == 0
    event_id = await _raise(db, service, "dcxx-hot")
    await eventually(lambda: len(receiver.messages) == 1, within=30, what="the alert")
    await eventually(lambda: _none_pending(db), within=30, what="the message marked sent")
    async with db.session() as session:
        event = await session.get_one(Event, event_id)
        assert (event.school_id, event.town_id, event.severity) == ("dcxx", "dongcheng", "urgent")
        message = await session.scalar(select(AlertMessage))
        assert message is not None and message.status == "sent" and message.attempts == 1
        step = await session.scalar(select(AlertStep))
        assert step is not None and (step.action, step.level) == ("notified", "school")
        assert json.loads(step.detail or "") == {"recipients": ["dcxx-principal"]}
    assert receiver.messages[0].headers["Idempotency-Key"] == message.key


async def test_receiver_outage_delivers_each_alert_once_in_order_per_school(
    no_lingering_tasks: None, db: Database, service_for: Any, receiver: HttpReceiver
) -> None:
    service = await service_for(routing([_hook(receiver), {"type": "console"}]))
    live = service.bus.subscribe()
    receiver.stop()  # the receiver is down from the first alert
    cameras = ["dcxx-hot", "dcyey-hot", "sfsy-hot"]
    raised = [await _raise(db, service, cameras[n % 3]) for n in range(24)]
    # The console is not held up by the dead webhook.
    await eventually(lambda: live.queue.qsize() == 24, within=30, what="console alerts")
    health = service.health["hook"]
    await eventually(lambda: health.state is ChannelState.FAILING, within=30, what="failing")
    report = {c["name"]: c for c in await service.health_report()}
    assert report["hook"]["state"] == "failing" and report["hook"]["pending"] == 24
    assert "Connect" in (report["hook"]["last_error"] or "")
    receiver.start()  # back on the same port
    await eventually(lambda: len(receiver.unique()) == 24, within=60, what="all alerts")
    await asyncio.sleep(0.3)  # nothing more arrives
    assert sorted(receiver.keys.values()) == [1] * 24  # exactly once, by idempotency key
    for school in ("dcxx", "dcyey", "sfsy"):
        got = [
            m.body["events"][0]["event_id"]
            for m in receiver.messages
            if m.body["school_id"] == school
        ]
        want = [e for n, e in enumerate(raised) if cameras[n % 3].startswith(school)]
        assert got == want
    await eventually(lambda: health.sent == 24, within=30, what="all 24 counted as sent")
    assert health.state is ChannelState.OK
    live.close()


async def test_unacknowledged_rat_climbs_to_town_then_district(
    no_lingering_tasks: None, db: Database, service_for: Any, receiver: HttpReceiver
) -> None:
    clock = FakeClock()
    service = await service_for(routing([_hook(receiver)]), clock=clock)
    ignored = await _raise(db, service, "dcxx-hot")
    handled = await _raise(db, service, "dcyey-hot")
    await eventually(lambda: len(receiver.messages) == 2, within=30, what="school alerts")
    await eventually(lambda: _none_pending(db), within=30, what="both marked sent")
    clock.advance(seconds=30)
    ack = await service.acknowledge(handled, by="李园长", via="api", comment="已灭鼠")
    assert not ack.already
    assert (await service.acknowledge(handled, by="someone", via="api")).already
    assert await service.escalator.run_once() == 0  # not yet: 30 s of 60
    clock.advance(seconds=31)
    assert await service.escalator.run_once() == 1
    await eventually(lambda: len(receiver.messages) == 3, within=30, what="the town alert")
    town = receiver.messages[2].body
    assert town["level"] == "town" and town["recipients"] == ["dongcheng-staff"]
    assert town["events"][0]["event_id"] == ignored and "已升级至镇" in town["title"]
    clock.advance(seconds=60)
    assert await service.escalator.run_once() == 1
    await eventually(lambda: len(receiver.messages) == 4, within=30, what="the district alert")
    assert receiver.messages[3].body["recipients"] == ["district-desk"]
    clock.advance(minutes=10)
    assert await service.escalator.run_once() == 0  # the top of the ladder
    async with db.session() as session:
        steps = list(await session.scalars(select(AlertStep).order_by(AlertStep.id)))
    trail = [(s.event_id, s.action, s.level, s.actor, s.via) for s in steps]
    assert trail == [
        (ignored, "notified", "school", "system", None),
        (handled, "notified", "school", "system", None),
        (handled, "acknowledged", None, "李园长", "api"),
        (ignored, "escalated", "town", "system", "escalation"),
        (ignored, "escalated", "district", "system", "escalation"),
    ]
    assert steps[-1].at == clock.now - timedelta(minutes=10)


async def test_grouping_and_rate_limit_fold_events_into_digests(
    no_lingering_tasks: None, db: Database, service_for: Any, receiver: HttpReceiver
) -> None:
    clock = FakeClock()
    alerts = routing(
        [_hook(receiver)],
        grouping={"window_s": 60, "dedupe_s": 0},
        rate_limit={"max_messages": 3, "window_s": 600},
    )
    service = await service_for(alerts, clock=clock)
    for camera in ("dcxx-hot", "dcxx-prep", "dcxx-hot"):  # one kitchen, within a minute
        await _raise(db, service, camera, "no_gloves")
        clock.advance(seconds=5)
    await eventually(lambda: len(receiver.messages) == 1, within=30, what="the first alert")
    clock.advance(seconds=50)  # the window is over: the digest is due
    service.wake()
    await eventually(lambda: len(receiver.messages) == 2, within=30, what="the digest")
    digest = receiver.messages[1].body
    assert len(digest["events"]) == 2 and digest["title"].endswith("2 条告警")
    for _ in range(3):  # the other kitchen: the rate limit of 3 per 10 min is reached
        clock.advance(seconds=1)
        await _raise(db, service, "dcxx-k2", "rat")
    await eventually(lambda: len(receiver.messages) == 3, within=30, what="a third message")

    async def pending_sizes() -> list[int]:
        async with db.session() as session:
            rows = await session.execute(
                select(func.count(AlertMessageEvent.event_id))
                .join(AlertMessage, AlertMessageEvent.message_id == AlertMessage.id)
                .where(AlertMessage.status == "pending")
                .group_by(AlertMessage.id)
            )
        return [n for (n,) in rows.all()]

    # The receiver has the third message a moment before its row is marked sent.
    async def only_the_two_rats_wait() -> bool:
        return await pending_sizes() == [2]

    await eventually(only_the_two_rats_wait, within=30, what="one message with two rats pending")
    assert await pending_sizes() == [2]  # two rats wait together, none is lost


async def test_bad_channels_are_reported_at_start_and_never_block(
    no_lingering_tasks: None, db: Database, service_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    alerts = routing(
        [
            {"type": "webhook", "url": "htp:/not a url"},
            {"type": "smtp", "host": "127.0.0.1", "port": free_port(), "security": "none"},
            {"type": "console"},
        ]
    )
    service = await service_for(alerts)  # returns at once: probes run in the background
    assert "misconfigured" in caplog.text and "URL must start with http" in caplog.text
    live = service.bus.subscribe()
    await _raise(db, service, "dcxx-hot")  # ingest and detection carry on
    await eventually(lambda: live.queue.qsize() == 1, within=30, what="the console alert")
    smtp = service.health["smtp"]
    await eventually(lambda: smtp.probe not in (None, "ok"), within=30, what="the SMTP probe")
    report = {c["name"]: c for c in await service.health_report()}
    assert report["webhook"]["state"] == "misconfigured" and report["webhook"]["pending"] == 1
    assert report["smtp"]["state"] == "failing" and "Connection refused" in report["smtp"]["probe"]
    assert report["console"]["state"] == "ok"
    live.close()


async def test_quiet_hours_hold_warnings_in_the_outbox_but_not_rats(db: Database) -> None:
    alerts = routing([{"type": "console"}])
    alerts["recipients"][0]["quiet_hours"] = {"start": "12:00", "end": "14:00"}  # lunch
    alerts["channels"] = [{"type": "webhook", "url": "http://127.0.0.1:9/h"}]
    for person in alerts["recipients"]:
        person["channels"] = ["webhook"]
    config = hub_config(alerts)
    await seed_registry(db, config)
    policy = AlertPolicy(config)
    async with db.session() as session:  # T0 is 13:05 in Shanghai
        await raise_event(session, violation("dcxx-hot", "no_mask"), policy=policy, now=T0)
        await raise_event(session, violation("dcxx-k2", "rat"), policy=policy, now=T0)
    async with db.session() as session:
        due = list(await session.scalars(select(AlertMessage.due_at).order_by(AlertMessage.id)))
    assert due == [T0.replace(hour=6, minute=0, second=0), T0]  # 14:00 local; the rat now
