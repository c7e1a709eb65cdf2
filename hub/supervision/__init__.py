"""Supervision duties (巡查/陪餐): live evidence frames, duty records and compliance.

frames = LatestFrames(max_age_s=30); frames.watch(camera_id, sampler.subscribe(...))
jpeg = await frames.jpeg(camera_id, tz, quality=85)         # None: no live picture
records = await duty_records(session, school_ids, window, tz)
rows = statuses(schools, config.supervision.duties, records, now, tz)
reminders = DutyReminders(config, db, policy=alerts.policy)  # the day before a duty is due
"""

from .compliance import (
    DutyRecord,
    DutyStatus,
    Window,
    counts,
    due_by,
    lookback,
    month_window,
    period_window,
    required_by,
    required_in_month,
    statuses,
)
from .evidence import put_jpeg
from .frames import LatestFrames
from .records import duty_records
from .reminders import DutyReminders

__all__ = [
    "DutyRecord",
    "DutyReminders",
    "DutyStatus",
    "LatestFrames",
    "Window",
    "counts",
    "due_by",
    "duty_records",
    "lookback",
    "month_window",
    "period_window",
    "put_jpeg",
    "required_by",
    "required_in_month",
    "statuses",
]
