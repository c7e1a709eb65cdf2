"""Duty records from the database: finished rounds and accompany meals in a time range."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, time, tzinfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import Duty
from storage.db.models_supervision import AccompanyMeal, InspectionRound

from .compliance import DutyRecord, Window

__all__ = ["duty_records"]

_MEAL_AT = time(12)  # a meal is counted at local noon of its date


async def duty_records(
    session: AsyncSession, school_ids: Collection[str], window: Window, tz: tzinfo
) -> list[DutyRecord]:
    """Rounds finished and started within `window`, and meals on its local dates."""
    ids = sorted(school_ids)
    rounds = await session.scalars(
        select(InspectionRound).where(
            InspectionRound.school_id.in_(ids),
            InspectionRound.finished_at.is_not(None),
            InspectionRound.started_at >= window.start,
            InspectionRound.started_at < window.end,
        )
    )
    meals = await session.scalars(
        select(AccompanyMeal).where(
            AccompanyMeal.school_id.in_(ids),
            AccompanyMeal.meal_date >= window.start.astimezone(tz).date(),
            AccompanyMeal.meal_date < window.end.astimezone(tz).date(),
        )
    )
    records = [
        DutyRecord(Duty.INSPECTION, r.school_id, r.inspector, r.inspector_role, r.started_at)
        for r in rounds
    ]
    records += [
        DutyRecord(
            Duty.ACCOMPANY_MEAL,
            m.school_id,
            m.person,
            m.person_role,
            datetime.combine(m.meal_date, _MEAL_AT, tz),
        )
        for m in meals
    ]
    return records
