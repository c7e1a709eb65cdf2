"""Supervision duties (陪餐/巡查): the inspection checklist and who must do what, how often.

A duty rule names the duty (inspection or accompany_meal), the account roles that fulfil it,
how many times per day, week or month, and the schools it applies to. A school matches when
any of its `applies_to` filters matches (no filters: every school); a filter matches when all
of the fields it sets match, so "bureau-direct or boarding or kindergarten" is three filters.
Each school must meet each matching rule on its own: a centre-school principal owes every
school of the town its two rounds a month.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator

from ._base import Name, Section, Slug
from .district import School, SchoolKind

__all__ = [
    "DEFAULT_ITEMS",
    "Duty",
    "DutyPeriod",
    "DutyRole",
    "DutyRule",
    "SchoolFilter",
    "SupervisionConfig",
]

# The work plan's checklist (检查项目), in its order.
DEFAULT_ITEMS = (
    "环境卫生",
    "肉菜新鲜度",
    "索证索票",
    "食品加工",
    "伙食质量",
    "留样",
    "消毒",
    "剩饭剩菜处理",
    "学生满意度",
)


class Duty(StrEnum):
    INSPECTION = "inspection"  # 巡查
    ACCOMPANY_MEAL = "accompany_meal"  # 陪餐


class DutyPeriod(StrEnum):
    DAY = "day"
    WEEK = "week"  # Monday to Sunday, in the district's time zone
    MONTH = "month"


class DutyRole(StrEnum):
    """Account roles that carry duties; the values are those of the web console's roles."""

    DISTRICT_STAFF = "district_staff"  # 教育局
    TOWN_STAFF = "town_staff"  # 镇中心学校校长
    SCHOOL_PRINCIPAL = "school_principal"  # 校长
    CANTEEN_MANAGER = "canteen_manager"  # 食堂负责人


class SchoolFilter(Section):
    """Which schools a rule covers; unset fields match any school."""

    direct: bool | None = Field(
        default=None, description="true: bureau-direct schools only; false: town schools only."
    )
    boarding: bool | None = Field(default=None, description="Boarding schools (寄宿制) or not.")
    kinds: tuple[SchoolKind, ...] | None = Field(
        default=None, description="School kinds, e.g. [kindergarten]; [] matches none."
    )

    def matches(self, school: School) -> bool:
        return (
            (self.direct is None or self.direct == (school.town is None))
            and (self.boarding is None or self.boarding == school.boarding)
            and (self.kinds is None or school.kind in self.kinds)
        )


class DutyRule(Section):
    """One duty: `times` per `per` at each school it applies to, by one of `roles`."""

    id: Slug = Field(description="Unique rule id, e.g. 'town-inspection'.")
    name: Name = Field(description="Shown in the compliance view, e.g. '中心学校校长巡查'.")
    duty: Duty = Field(description="inspection or accompany_meal.")
    roles: tuple[DutyRole, ...] = Field(description="Account roles whose records count.")
    times: int = Field(ge=1, le=100, description="How many records each period needs.")
    per: DutyPeriod = Field(description="day, week or month.")
    applies_to: tuple[SchoolFilter, ...] = Field(
        default=(), description="Any of these filters; empty: every school."
    )

    @field_validator("roles")
    @classmethod
    def _some_role(cls, roles: tuple[DutyRole, ...]) -> tuple[DutyRole, ...]:
        # Checked after the items, so a misspelt role is reported once, at its own index.
        if not roles:
            raise ValueError("name at least one role")
        return roles

    def covers(self, school: School) -> bool:
        return not self.applies_to or any(f.matches(school) for f in self.applies_to)


def _default_rules() -> tuple[DutyRule, ...]:
    # The district work plan (明厨亮灶 实施方案): the duties the cameras exist to serve.
    direct_boarding_kg = (
        SchoolFilter(direct=True),
        SchoolFilter(boarding=True),
        SchoolFilter(kinds=(SchoolKind.KINDERGARTEN,)),
    )
    principal, manager = DutyRole.SCHOOL_PRINCIPAL, DutyRole.CANTEEN_MANAGER
    return (
        DutyRule(id="town-inspection", name="中心学校校长巡查", duty=Duty.INSPECTION,
                 roles=(DutyRole.TOWN_STAFF,), times=2, per=DutyPeriod.MONTH,
                 applies_to=(SchoolFilter(direct=False),)),
        DutyRule(id="principal-inspection", name="校长巡查", duty=Duty.INSPECTION,
                 roles=(principal,), times=2, per=DutyPeriod.WEEK, applies_to=direct_boarding_kg),
        DutyRule(id="manager-inspection", name="食堂负责人每日巡查", duty=Duty.INSPECTION,
                 roles=(manager,), times=1, per=DutyPeriod.DAY),
        DutyRule(id="town-meal", name="中心学校校长陪餐", duty=Duty.ACCOMPANY_MEAL,
                 roles=(DutyRole.TOWN_STAFF,), times=1, per=DutyPeriod.WEEK,
                 applies_to=(SchoolFilter(direct=False),)),
        DutyRule(id="principal-meal", name="校长陪餐", duty=Duty.ACCOMPANY_MEAL,
                 roles=(principal,), times=1, per=DutyPeriod.WEEK,
                 applies_to=direct_boarding_kg[:2]),
        DutyRule(id="leader-meal", name="学校领导每餐陪餐", duty=Duty.ACCOMPANY_MEAL,
                 roles=(principal, manager), times=3, per=DutyPeriod.DAY,
                 applies_to=(SchoolFilter(boarding=True),)),
        DutyRule(id="leader-lunch", name="学校领导午餐陪餐", duty=Duty.ACCOMPANY_MEAL,
                 roles=(principal, manager), times=1, per=DutyPeriod.DAY,
                 applies_to=(SchoolFilter(direct=True, boarding=False),)),
    )  # fmt: skip


class SupervisionConfig(Section):
    """The checklist of an inspection round and the duty rules of the compliance view."""

    items: tuple[Name, ...] = Field(
        default=DEFAULT_ITEMS, description="Checklist items (检查项目), in order."
    )
    duties: tuple[DutyRule, ...] = Field(
        default_factory=_default_rules, description="Who must inspect or accompany, how often."
    )

    @field_validator("items")
    @classmethod
    def _unique_items(cls, items: tuple[str, ...]) -> tuple[str, ...]:
        if not items:
            raise ValueError("list at least one checklist item")
        repeated = sorted({i for i in items if items.count(i) > 1})
        if repeated:
            raise ValueError(f"duplicate checklist item {repeated[0]!r}")
        return items

    @field_validator("duties")
    @classmethod
    def _unique_ids(cls, rules: tuple[DutyRule, ...]) -> tuple[DutyRule, ...]:
        ids = [r.id for r in rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"duplicate duty id {repeated[0]!r}")
        return rules
