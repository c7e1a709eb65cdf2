"""Duty reminders (履职提醒): the day before a weekly or monthly duty falls due, the people who
owe it and have not done it get one message through their alert channels.

A reminder is an event-less notice in the alert outbox (hub.alerts.notices says why it is
not an event): the channel workers deliver it exactly once, and nothing escalates it. Once
per local day, from SEND_FROM (and at start when that is past), the job reads the duty
records, takes from compliance what falls due tomorrow and is not done (due.py), and queues
for each destination (a WeCom group, an e-mail address) one message listing its duties.
A hub started late in the evening still reminds; recipients' quiet hours hold it till morning.

Every reminded (person, school, rule, period) is a duty_reminders row written in the same
transaction as the messages. Its unique key is what keeps a second run the same day, a
restart, or a second hub from sending it twice: what exists is skipped, and a run that
races another fails as a whole before anything is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from hub.alerts import AlertPolicy, Clock, Notice, enqueue_notice, notice_targets, utc_now
from hub.config import Duty, DutyPeriod, HubConfig
from hub.config.alerts import Recipient
from hub.tasks import cancel_and_wait
from storage.db.database import Database
from storage.db.models_supervision import DutyReminder

from .compliance import DutyStatus, lookback, statuses
from .due import REMINDED_PERIODS, due_tomorrow, owners
from .records import duty_records

log = logging.getLogger(__name__)

__all__ = ["NOTICE_TYPE", "SEND_FROM", "DutyReminders", "reminder_notice"]

NOTICE_TYPE: Final = "duty_reminder"
SEND_FROM: Final = time(9, 0)  # local: read in the morning, it leaves the day to act on it
_MAX_SLEEP_S: Final = 3600.0  # wake hourly anyway, so a clock that jumped is noticed
_BRAND: Final = "【履职提醒】"
_PERIOD_WORDS: Final = {DutyPeriod.WEEK: "本周", DutyPeriod.MONTH: "本月"}
_DUTY_WORDS: Final = {Duty.INSPECTION: "巡查", Duty.ACCOMPANY_MEAL: "陪餐"}

_Key = tuple[str, str, str, datetime]  # recipient, school, rule, period start


def _key(person: Recipient, row: DutyStatus) -> _Key:
    return person.id, row.school.id, row.rule.id, row.window.start


class DutyReminders:
    def __init__(
        self,
        config: HubConfig,
        db: Database,
        *,
        policy: AlertPolicy,
        clock: Clock = utc_now,
        on_enqueued: Callable[[], None] = lambda: None,
    ) -> None:
        self._config = config
        self._db = db
        self._policy = policy
        self._clock = clock
        self._on_enqueued = on_enqueued  # the delivery worker's wake-up
        self._tz = ZoneInfo(config.district.timezone)
        self._checked_on: date | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self._policy.alerts.enabled:
            self._task = asyncio.create_task(self._loop(), name="supervision:reminders")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _loop(self) -> None:
        while True:
            now = self._clock()
            local = now.astimezone(self._tz)
            if local.time() >= SEND_FROM and local.date() != self._checked_on:
                try:
                    await self.run_once()
                    self._checked_on = local.date()
                except Exception:  # tried again at the next wake
                    log.exception("duty reminders failed; retrying within the hour")
            await asyncio.sleep(self._sleep_s(local))

    def _sleep_s(self, local: datetime) -> float:
        send = datetime.combine(local.date(), SEND_FROM, self._tz)
        if send <= local:
            send = datetime.combine(local.date() + timedelta(days=1), SEND_FROM, self._tz)
        return min(_MAX_SLEEP_S, max(1.0, (send - local).total_seconds()))

    async def run_once(self) -> int:
        """Queue the reminders due now that were not queued before; how many (person,
        school, rule) reminders were new."""
        now, tz = self._clock(), self._tz
        rules = [r for r in self._config.supervision.duties if r.per in REMINDED_PERIODS]
        people = self._policy.alerts.recipients
        if not self._policy.alerts.enabled or not rules or not people:
            return 0
        schools = self._config.schools
        async with self._db.session() as session:
            records = await duty_records(session, [s.id for s in schools], lookback(now, tz), tz)
        due = due_tomorrow(statuses(schools, rules, records, now, tz), now, tz)
        wanted = [(p, row) for row in due for p in owners(row.rule, row.school, people)]
        if not wanted:
            return 0
        tomorrow = now.astimezone(tz).date() + timedelta(days=1)
        try:
            async with self._db.session() as session:
                keys = [_key(p, row) for p, row in wanted]
                columns = (DutyReminder.recipient_id, DutyReminder.school_id,
                           DutyReminder.rule_id, DutyReminder.period_start)  # fmt: skip
                query = select(*columns).where(tuple_(*columns).in_(keys))
                done = {tuple(r) for r in await session.execute(query)}
                new = [(p, row) for p, row in wanted if _key(p, row) not in done]
                for person, row in new:
                    session.add(
                        DutyReminder(recipient_id=person.id, school_id=row.school.id,
                                     rule_id=row.rule.id, period_start=row.window.start,
                                     done=row.done, required=row.rule.times, created_at=now)
                    )  # fmt: skip
                await session.flush()  # the unique key first: a racing run stops here
                owed: dict[str, list[DutyStatus]] = {}
                for person, row in new:
                    owed.setdefault(person.id, []).append(row)
                reached = list({p.id: p for p, _ in new}.values())
                for target in notice_targets(self._policy, reached):
                    rows = list({id(r): r for p in target.recipients for r in owed[p.id]}.values())
                    notice = reminder_notice(rows, tomorrow, self._policy.base_url())
                    await enqueue_notice(session, target, notice, policy=self._policy, now=now,
                                         deadline=min(r.window.end for r in rows))  # fmt: skip
        except IntegrityError:
            log.info("duty reminders: another run queued them meanwhile")
            return 0
        if new:
            log.info("duty reminders: %d queued for %s", len(new), tomorrow)
            self._on_enqueued()
        return len(new)


def reminder_notice(rows: Sequence[DutyStatus], day: date, base_url: str) -> Notice:
    """One message for the duties in `rows`, all falling due on `day`, in zh-CN, e.g.
    【履职提醒】明天（12月13日）是本周巡查截止日：东城小学 本周已完成 1/2 次（校长巡查）"""
    by_head: dict[str, list[str]] = {}
    for row in rows:
        period = _PERIOD_WORDS[row.rule.per]
        head = f"明天（{day.month}月{day.day}日）是{period}{_DUTY_WORDS[row.rule.duty]}截止日"
        line = f"{row.school.name} {period}已完成 {row.done}/{row.rule.times} 次（{row.rule.name}）"
        by_head.setdefault(head, []).append(line)
    heads = list(by_head)
    title = _BRAND + heads[0] + ("等" if len(heads) > 1 else "")
    url = f"{base_url}/supervision.html"
    text: list[str] = []
    markdown = [f"### {title}"]
    for head, lines in by_head.items():
        if len(lines) == 1:
            text.append(f"{head}：{lines[0]}")
        else:
            text += [f"{head}：", *(f"{n}. {line}" for n, line in enumerate(lines, 1))]
        markdown += [f"**{head}**", *(f"> {line}" for line in lines)]
    markdown.append(f"[查看履职情况]({url})")
    schools = {row.school.id for row in rows}
    return Notice(
        type=NOTICE_TYPE,
        title=title,
        text=_BRAND + "\n".join([*text, f"查看：{url}"]),
        markdown="\n".join(markdown),
        school_id=schools.pop() if len(schools) == 1 else None,
    )
