"""Duty reminders on SQLite and PostgreSQL, through the real webhook and SMTP receivers: a
weekly or monthly duty due tomorrow and not done is reminded once to whoever owes it; done
duties, duties due later and daily duties are not; a second run and a restart send nothing
again; a reminder is no event and never escalates. Time is an injected clock."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from hub.alerts import AlertService
from hub.alerts.channels.mqtt import topic_for
from hub.alerts.notices import notice_outgoing
from hub.config import HubConfig
from hub.supervision import DutyReminders
from storage.db.database import Database
from storage.db.models import Event
from storage.db.models_alerts import AlertMessage, AlertState, AlertStep
from storage.db.models_supervision import DutyReminder, InspectionRound
from tests.alert_receivers import WEBHOOK_SECRET, HttpReceiver, SmtpReceiver
from tests.alerting import FakeClock, district, routing, seed_registry
from tests.waiting import eventually

TZ = ZoneInfo("Asia/Shanghai")
SATURDAY = datetime(2026, 12, 12, 10, 0, tzinfo=TZ)  # the week of 7-13 December ends tomorrow
DEC_30 = datetime(2026, 12, 30, 10, 0, tzinfo=TZ)  # December ends tomorrow, the week does not

DUTIES = [
    {"id": "principal-inspection", "name": "校长巡查", "duty": "inspection",
     "roles": ["school_principal"], "times": 2, "per": "week"},
    {"id": "town-inspection", "name": "中心学校校长巡查", "duty": "inspection",
     "roles": ["town_staff"], "times": 2, "per": "month", "applies_to": [{"direct": False}]},
    {"id": "daily-lunch", "name": "每日午餐陪餐", "duty": "accompany_meal",
     "roles": ["school_principal"], "times": 1, "per": "day"},
]  # fmt: skip
PEOPLE = [  # (id, name, role, where, e-mail)
    ("dcxx-principal", "王校长", "principal", {"school": "dcxx"}, "wang@dcxx.example.edu"),
    ("dcyey-principal", "李园长", "principal", {"school": "dcyey"}, "li@dcyey.example.edu"),
    ("sfsy-principal", "赵校长", "principal", {"school": "sfsy"}, "zhao@sfsy.example.edu"),
    ("dongcheng-staff", "东城镇值班", "town_staff", {"town": "dongcheng"}, "dc@town.example.edu"),
    ("district-desk", "区教育局值班", "district_desk", {}, "desk@edu.example.edu"),
]


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    http = HttpReceiver().start()
    yield http
    http.stop()


@pytest.fixture
def mailbox() -> Iterator[SmtpReceiver]:
    pytest.importorskip("aiosmtpd")
    smtp = SmtpReceiver().start()
    yield smtp
    smtp.stop()


def _config(
    hook: HttpReceiver, mailbox: SmtpReceiver, hours: dict[str, dict[str, Any]] | None = None
) -> HubConfig:
    """The district with the duties and people above; `hours`: quiet or duty hours by id."""
    channels = [
        {"type": "webhook", "name": "hook", "url": hook.hook_url, "secret": WEBHOOK_SECRET},
        {"type": "smtp", "name": "mail", "host": "127.0.0.1", "port": mailbox.port,
         "security": "none"},
        {"type": "console"},  # the live stream shows events, not reminders
    ]  # fmt: skip
    recipients = [
        {"id": rid, "name": name, "role": role, **where, "email": email,
         "channels": ["hook", "mail", "console"], **(hours or {}).get(rid, {})}
        for rid, name, role, where, email in PEOPLE
    ]  # fmt: skip
    raw = district(routing(channels, recipients=recipients))
    raw["supervision"] = {"duties": DUTIES}
    return HubConfig.model_validate(raw)


def _round(school: str, town: str | None, who: str, role: str, day: int, *,
           finished: bool = True) -> InspectionRound:  # fmt: skip
    at = datetime(2026, 12, day, 9, 0, tzinfo=TZ)
    return InspectionRound(
        id=secrets.token_hex(16), school_id=school, town_id=town, inspector=who,
        inspector_role=role, mode="remote", started_at=at,
        finished_at=at.replace(hour=10) if finished else None,
    )  # fmt: skip


async def _seed(db: Database, config: HubConfig) -> None:
    await seed_registry(db, config)
    principal, staff = "school_principal", "town_staff"
    async with db.session() as s:
        s.add_all(
            [
                # This week: dcxx one round of two, dcyey both, sfsy only an unfinished one.
                _round("dcxx", "dongcheng", "wang", principal, 8),
                _round("dcyey", "dongcheng", "li", principal, 8),
                _round("dcyey", "dongcheng", "li", principal, 10),
                _round("sfsy", None, "zhao", principal, 9, finished=False),
                # Last week's rounds do not count for this week.
                _round("sfsy", None, "zhao", principal, 3),
                _round("sfsy", None, "zhao", principal, 4),
                # December's town rounds: dcxx both, dcyey one.
                _round("dcxx", "dongcheng", "zhou", staff, 2),
                _round("dcxx", "dongcheng", "zhou", staff, 16),
                _round("dcyey", "dongcheng", "zhou", staff, 17),
            ]
        )


@dataclass
class Hubside:
    """What a test sees: the receivers, the clock, and the alerts and reminder job as the hub
    wires them (`restart` builds both anew on the same database)."""

    db: Database
    config: HubConfig
    clock: FakeClock
    hook: HttpReceiver
    mailbox: SmtpReceiver
    alerts: AlertService | None = None
    job: DutyReminders | None = None

    async def start(self) -> DutyReminders:
        self.alerts = AlertService(self.config, self.db, clock=self.clock)
        await self.alerts.start()
        self.job = DutyReminders(self.config, self.db, policy=self.alerts.policy,
                                 clock=self.clock, on_enqueued=self.alerts.wake)  # fmt: skip
        return self.job

    async def stop(self) -> None:
        if self.job is not None:
            await self.job.stop()
        if self.alerts is not None:
            await self.alerts.stop()
        self.alerts = self.job = None

    async def restart(self) -> DutyReminders:
        await self.stop()
        return await self.start()


@pytest.fixture
async def hub_at(
    db: Database, hook: HttpReceiver, mailbox: SmtpReceiver
) -> AsyncIterator[Callable[..., Awaitable[Hubside]]]:
    """The seeded district at a moment, its alerts and reminder job started; stopped after."""
    started: list[Hubside] = []

    async def at(moment: datetime, hours: dict[str, dict[str, Any]] | None = None) -> Hubside:
        side = Hubside(db, _config(hook, mailbox, hours), FakeClock(moment), hook, mailbox)
        await _seed(db, side.config)
        await side.start()
        started.append(side)
        return side

    yield at
    for side in started:
        await side.stop()


async def _count(db: Database, table: Any) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(table)) or 0)


async def _none_pending(db: Database) -> bool:
    async with db.session() as s:
        query = select(func.count()).where(AlertMessage.status == "pending")
        return await s.scalar(query) == 0


def _body(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())


async def test_a_duty_due_tomorrow_and_not_done_is_reminded_once_and_never_escalates(
    no_lingering_tasks: None, db: Database, hub_at: Any
) -> None:
    side = await hub_at(SATURDAY)
    job, hook, mailbox, clock = side.job, side.hook, side.mailbox, side.clock
    assert side.alerts is not None and job is not None

    assert await job.run_once() == 2  # dcxx and sfsy owe a round; dcyey has both
    await eventually(lambda: len(hook.messages) == 1 and len(mailbox.mails) == 2, within=30,
                     what="one webhook message and two mails")  # fmt: skip
    await eventually(lambda: _none_pending(db), within=30, what="the messages marked sent")
    # The webhook is one destination shared by both principals: one message, two lines.
    body = hook.messages[0].body
    assert body["notice"] == "duty_reminder" and body["events"] == []
    assert body["recipients"] == ["dcxx-principal", "sfsy-principal"]
    assert body["title"] == "【履职提醒】明天（12月13日）是本周巡查截止日"
    assert "东城镇中心小学 本周已完成 1/2 次（校长巡查）" in body["text"]
    assert "示范区实验学校 本周已完成 0/2 次（校长巡查）" in body["text"]
    # Not done yet is what is reminded: not dcyey (done), not the month (due on the 31st),
    # not the daily lunch (every day).
    for absent in ("东城镇中心幼儿园", "中心学校校长巡查", "每日午餐陪餐"):
        assert absent not in body["text"]
    # E-mail has an address per person: each gets only their own school.
    mails = {m["X-Envelope-To"]: _body(m) for m in mailbox.mails}
    assert set(mails) == {"wang@dcxx.example.edu", "zhao@sfsy.example.edu"}
    assert mails["wang@dcxx.example.edu"].startswith(
        "【履职提醒】明天（12月13日）是本周巡查截止日：东城镇中心小学 本周已完成 1/2 次（校长巡查）"
    )
    assert "示范区实验学校" not in mails["wang@dcxx.example.edu"]
    assert "https://bkhub.example.edu/supervision.html" in mails["zhao@sfsy.example.edu"]

    # A reminder is no event: nothing at the event desk, no state that could escalate.
    assert (await _count(db, Event), await _count(db, AlertState)) == (0, 0)
    assert await _count(db, AlertStep) == 0
    clock.advance(hours=2)
    assert await side.alerts.escalator.run_once() == 0
    async with db.session() as s:
        row = await s.scalar(select(AlertMessage).where(AlertMessage.channel == "hook"))
    assert row is not None and (row.kind, row.school_id) == ("notice", None)
    assert topic_for("bkhub", notice_outgoing(row, ())) == "bkhub/district/duty_reminder"

    # The same day again, and after a restart: nothing more is queued.
    assert await job.run_once() == 0
    clock.advance(hours=8)  # 20:00, still the day before
    again = await side.restart()
    assert await again.run_once() == 0
    assert await _count(db, AlertMessage) == 3 and await _count(db, DutyReminder) == 2
    assert sorted(hook.keys.values()) == [1]


async def test_month_end_reminds_the_town_of_the_school_it_still_owes(
    no_lingering_tasks: None, db: Database, hub_at: Any
) -> None:
    side = await hub_at(DEC_30)
    job, hook, mailbox = side.job, side.hook, side.mailbox
    assert job is not None
    assert await job.run_once() == 1  # dcyey's second town round; the weekly rounds are later
    await eventually(lambda: len(hook.messages) == 1 and len(mailbox.mails) == 1, within=30,
                     what="the town's reminder")  # fmt: skip
    body = hook.messages[0].body
    assert body["recipients"] == ["dongcheng-staff"] and body["school_id"] == "dcyey"
    assert body["text"].startswith(
        "【履职提醒】明天（12月31日）是本月巡查截止日：东城镇中心幼儿园 本月已完成 1/2 次"
    )
    assert "东城镇中心小学" not in body["text"]
    assert mailbox.mails[0]["X-Envelope-To"] == "dc@town.example.edu"
    async with db.session() as s:
        kept = await s.scalar(select(DutyReminder))
    assert kept is not None
    assert (kept.recipient_id, kept.school_id, kept.rule_id) == (
        "dongcheng-staff",
        "dcyey",
        "town-inspection",
    )
    assert (kept.done, kept.required, kept.period_start) == (1, 2, datetime(2026, 12, 1, tzinfo=TZ))


async def test_the_job_reminds_at_start_when_the_morning_is_past(
    no_lingering_tasks: None, db: Database, hub_at: Any
) -> None:
    side = await hub_at(SATURDAY)
    job, hook = side.job, side.hook
    assert job is not None
    job.start()  # no run_once: the loop's first pass does it
    await eventually(lambda: len(hook.messages) == 1, within=30, what="the reminder at start")
    assert await _count(db, DutyReminder) == 2
    assert await job.run_once() == 0


async def test_quiet_hours_hold_a_reminder_but_duty_hours_not_past_its_deadline(
    no_lingering_tasks: None, db: Database, hub_at: Any
) -> None:
    weekdays = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00"}]
    side = await hub_at(SATURDAY, {
        "dcxx-principal": {"quiet_hours": {"start": "09:00", "end": "12:00"}},
        "sfsy-principal": {"on_duty": weekdays},  # Monday would be after Sunday's deadline
    })  # fmt: skip
    job, mailbox, clock = side.job, side.mailbox, side.clock
    assert side.alerts is not None and job is not None
    assert await job.run_once() == 2
    await eventually(lambda: len(mailbox.mails) == 1, within=30, what="赵校长's mail, now")
    assert mailbox.mails[0]["X-Envelope-To"] == "zhao@sfsy.example.edu"
    pending_mail = (AlertMessage.status == "pending", AlertMessage.channel == "mail")

    async def pending_mails() -> list[AlertMessage]:
        async with db.session() as s:
            return list(await s.scalars(select(AlertMessage).where(*pending_mail)))

    async def one_held() -> bool:  # 赵校长's row is marked sent just after the mailbox has it
        return len(await pending_mails()) == 1

    await eventually(one_held, within=30, what="one mail held")
    (held,) = await pending_mails()
    assert held.address == "wang@dcxx.example.edu"
    assert held.due_at == datetime(2026, 12, 12, 12, 0, tzinfo=TZ)  # the end of quiet hours
    clock.advance(hours=2)
    side.alerts.wake()
    await eventually(lambda: len(mailbox.mails) == 2, within=30, what="王校长's mail at noon")
    assert mailbox.mails[1]["X-Envelope-To"] == "wang@dcxx.example.edu"
