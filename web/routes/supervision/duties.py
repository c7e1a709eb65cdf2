"""Accompany-meal records (陪餐) and the compliance view of every duty, within the caller's
scope: what was recorded, and each duty rule's done against required in its period."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from hub.config import Duty, DutyPeriod, DutyRole
from hub.supervision import duty_records, lookback, statuses
from storage.db.models_supervision import AccompanyMeal, Meal
from web.auth import CurrentUser, audit, ensure_school_visible, scope_clause, visible_school_ids
from web.auth.store import new_id
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError
from web.pagination import DEFAULT_LIMIT, Limit
from web.params import SlugFilter

from ._params import SLUG, Note, Supervisor

__all__ = ["router"]

router = APIRouter(prefix="/api/supervision", tags=["supervision"], responses=ERROR_RESPONSES)


class MealBody(BaseModel):
    school_id: str = Field(pattern=SLUG)
    meal_date: date = Field(description="the district's local date")
    meal: Meal
    quality: int = Field(ge=1, le=5, description="伙食质量, 1 (poor) to 5 (very good)")
    satisfaction: int = Field(ge=1, le=5, description="学生满意度, 1 to 5")
    note: Note = None


class MealView(BaseModel):
    id: str
    school_id: str
    town_id: str | None
    meal_date: date
    meal: Meal
    person: str
    person_role: str
    quality: int
    satisfaction: int
    note: str | None
    recorded_at: datetime


class DutyView(BaseModel):
    school_id: str
    school_name: str
    rule_id: str
    rule_name: str
    duty: Duty
    roles: list[DutyRole]
    per: DutyPeriod
    required: int = Field(description="records needed in the period")
    done: int
    due_by_now: int = Field(description="records needed by now to be on pace")
    overdue: bool = Field(description="behind pace in this period")
    period_start: datetime
    period_end: datetime
    by_person: dict[str, int] = Field(description="user name -> records this period")
    previous_done: int
    previous_met: bool = Field(description="whether the previous period had all it needed")


def _meal_view(row: AccompanyMeal) -> MealView:
    return MealView(
        id=row.id,
        school_id=row.school_id,
        town_id=row.town_id,
        meal_date=row.meal_date,
        meal=Meal(row.meal),
        person=row.person,
        person_role=row.person_role,
        quality=row.quality,
        satisfaction=row.satisfaction,
        note=row.note,
        recorded_at=row.recorded_at,
    )


@router.post("/meals", status_code=201)
async def record_meal(body: MealBody, user: Supervisor, hub: HubDep) -> MealView:
    """Record an accompanied meal (陪餐) at a school in the caller's scope."""
    ensure_school_visible(user, body.school_id, hub.config)
    school = hub.config.school(body.school_id)
    now = datetime.now(UTC)
    if body.meal_date > now.astimezone(hub.tz).date():
        raise ApiError(422, "future_date", "the meal is in the future", zh="陪餐日期不能晚于今天")
    row = AccompanyMeal(
        id=new_id(),
        school_id=school.id,
        town_id=school.town,
        meal_date=body.meal_date,
        meal=body.meal.value,
        person=user.username,
        person_role=user.role.value,
        quality=body.quality,
        satisfaction=body.satisfaction,
        note=body.note,
        recorded_at=now,
    )
    async with hub.db.session() as s:
        s.add(row)
        audit(s, at=now, actor=user.username, action="meal_record",
              detail={"meal": row.id, "school": school.id})  # fmt: skip
    return _meal_view(row)


@router.get("/meals")
async def list_meals(
    user: CurrentUser,
    hub: HubDep,
    school: SlugFilter = None,
    since: Annotated[date | None, Query(description="on or after this date")] = None,
    until: Annotated[date | None, Query(description="on or before this date")] = None,
    limit: Limit = DEFAULT_LIMIT,
) -> list[MealView]:
    """Accompany-meal records in the caller's scope, newest first."""
    query = select(AccompanyMeal).where(
        scope_clause(user, school_column=AccompanyMeal.school_id, town_column=AccompanyMeal.town_id)
    )
    if school is not None:
        query = query.where(AccompanyMeal.school_id == school)
    if since is not None:
        query = query.where(AccompanyMeal.meal_date >= since)
    if until is not None:
        query = query.where(AccompanyMeal.meal_date <= until)
    query = query.order_by(AccompanyMeal.meal_date.desc(), AccompanyMeal.recorded_at.desc())
    async with hub.db.session() as s:
        return [_meal_view(row) for row in await s.scalars(query.limit(limit))]


@router.get("/compliance")
async def get_compliance(
    user: CurrentUser, hub: HubDep, school: SlugFilter = None, town: SlugFilter = None
) -> list[DutyView]:
    """Each duty at each school in scope: done vs required in its current day, week or
    month (district time), behind pace flagged as overdue."""
    visible = visible_school_ids(user, hub.config)
    schools = [
        s
        for s in hub.config.schools
        if s.id in visible and school in (None, s.id) and town in (None, s.town)
    ]
    rules = hub.config.supervision.duties
    now = datetime.now(UTC)
    async with hub.db.session() as s:
        records = await duty_records(s, [x.id for x in schools], lookback(now, hub.tz), hub.tz)
    return [
        DutyView(
            school_id=st.school.id,
            school_name=st.school.name,
            rule_id=st.rule.id,
            rule_name=st.rule.name,
            duty=st.rule.duty,
            roles=list(st.rule.roles),
            per=st.rule.per,
            required=st.rule.times,
            done=st.done,
            due_by_now=st.due_by_now,
            overdue=st.overdue,
            period_start=st.window.start,
            period_end=st.window.end,
            by_person=st.by_person,
            previous_done=st.previous_done,
            previous_met=st.previous_met,
        )
        for st in statuses(schools, rules, records, now, hub.tz)
    ]
