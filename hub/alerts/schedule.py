"""Quiet hours and duty hours: when a recipient may be notified. Pure functions."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo

from hub.config.alerts import DutyWindow, QuietHours, Recipient, Weekday

__all__ = ["allowed_now", "next_allowed"]

_WEEKDAYS = tuple(Weekday)  # Monday first, as datetime.weekday() counts
_LOOKAHEAD_DAYS = 8  # every weekly schedule repeats within this


def _in_quiet(t: time, quiet: QuietHours) -> bool:
    if quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= t < quiet.end
    return t >= quiet.start or t < quiet.end  # past midnight


def _on_duty(local: datetime, window: DutyWindow) -> bool:
    return _WEEKDAYS[local.weekday()] in window.days and window.start <= local.time() <= window.end


def allowed_now(local: datetime, person: Recipient, *, urgent: bool) -> bool:
    """May `person` be notified at local time `local`? Urgent alerts ignore duty hours, and
    quiet hours too unless the quiet hours say otherwise."""
    quiet = person.quiet_hours
    if (
        quiet is not None
        and _in_quiet(local.time(), quiet)
        and not (urgent and quiet.urgent_passes)
    ):
        return False
    if urgent or not person.on_duty:
        return True
    return any(_on_duty(local, w) for w in person.on_duty)


def next_allowed(now: datetime, person: Recipient, *, urgent: bool, tz: tzinfo) -> datetime:
    """The first moment from `now` (aware) at which `person` may be notified.

    Only boundaries can open a gap, so it is enough to try now and every quiet-hours end and
    duty start in the coming week. A schedule that never allows anything (quiet hours that
    cover every duty window) sends at once rather than holding an alert forever.
    """
    local = now.astimezone(tz)
    if allowed_now(local, person, urgent=urgent):
        return now
    starts: list[time] = [w.start for w in person.on_duty]
    if person.quiet_hours is not None:
        starts.append(person.quiet_hours.end)
    candidates = sorted(
        moment
        for day in range(_LOOKAHEAD_DAYS)
        for start in starts
        if (moment := _at(local.date() + timedelta(days=day), start, tz)) > local
    )
    for moment in candidates:
        if allowed_now(moment, person, urgent=urgent):
            return moment.astimezone(now.tzinfo)
    return now


def _at(day: object, t: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, t, tzinfo=tz)  # type: ignore[arg-type]
