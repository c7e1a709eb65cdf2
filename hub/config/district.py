"""The district tree: the bureau, its towns, and schools with their kitchens and cameras."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from ._base import Name, Section, Slug
from .camera import Camera

__all__ = ["CanteenGrade", "DistrictInfo", "Kitchen", "School", "SchoolKind", "Town"]


class SchoolKind(StrEnum):
    PRIMARY = "primary"  # 小学
    MIDDLE = "middle"  # 初中
    NINE_YEAR = "nine_year"  # 九年一贯制学校
    HIGH = "high"  # 高中
    KINDERGARTEN = "kindergarten"  # 幼儿园


class CanteenGrade(StrEnum):
    """量化分等定级: the bureau's grade of a canteen, shown in the monthly report."""

    A = "A"
    B = "B"


class DistrictInfo(Section):
    """The education bureau that runs this hub."""

    id: Slug = Field(default="district", description="Short id of the district, e.g. 'demo'.")
    name: Name = Field(default="区教育局", description="Display name, e.g. '示范区教育局'.")
    timezone: str = Field(
        default="Asia/Shanghai", description="IANA time zone used to show times and schedules."
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class Town(Section):
    """A town (镇/街道办), represented by its central school; it sees its own schools."""

    id: Slug = Field(description="Unique town id, e.g. 'dongcheng'.")
    name: Name = Field(description="Display name, e.g. '东城镇中心学校'.")


class Kitchen(Section):
    """A kitchen (食堂/厨房) of a school."""

    id: Slug = Field(description="Unique within the school, e.g. 'main'.")
    name: Name = Field(description="Display name, e.g. '学生食堂'.")


class School(Section):
    """A school or kindergarten with its kitchens and cameras."""

    id: Slug = Field(description="Unique school id, e.g. 'dc-xiaoxue'.")
    name: Name = Field(description="Display name, e.g. '东城镇中心小学'.")
    town: Slug | None = Field(
        default=None, description="Town id; omit for a bureau-direct school (局直学校)."
    )
    kind: SchoolKind = Field(description="primary, middle, nine_year, high or kindergarten.")
    boarding: bool = Field(default=False, description="Boarding school (寄宿制): three meals.")
    grade: CanteenGrade | None = Field(
        default=None, description="Canteen grade (量化分等定级) A or B; unset: not graded yet."
    )
    kitchens: tuple[Kitchen, ...] = Field(default=(), description="The school's kitchens.")
    cameras: tuple[Camera, ...] = Field(default=(), description="The school's cameras.")

    @model_validator(mode="before")
    @classmethod
    def _default_kitchen(cls, data: Any) -> Any:
        # A school with one kitchen need not repeat its id on every camera.
        if not isinstance(data, Mapping):
            return data
        kitchens, cameras = data.get("kitchens"), data.get("cameras")
        if not (isinstance(kitchens, list | tuple) and len(kitchens) == 1):
            return data
        only = kitchens[0]
        kitchen_id = only.get("id") if isinstance(only, Mapping) else getattr(only, "id", None)
        if not isinstance(kitchen_id, str) or not isinstance(cameras, list | tuple):
            return data
        filled = [
            {**cam, "kitchen": kitchen_id}
            if isinstance(cam, Mapping) and "kitchen" not in cam
            else cam
            for cam in cameras
        ]
        return {**data, "cameras": filled}
