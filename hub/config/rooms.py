"""The kinds of room a kitchen camera watches (own module: the camera and detection sections
both need it)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RoomKind"]


class RoomKind(StrEnum):
    """The room a camera watches; rules depend on it (masks and gloves in cold_dish, special)."""

    HOT_KITCHEN = "hot_kitchen"  # 烹饪区
    COLD_DISH = "cold_dish"  # 凉菜间
    PREP = "prep"  # 粗加工/切配区
    WASHING = "washing"  # 洗消间
    STORAGE = "storage"  # 库房
    SERVING = "serving"  # 备餐/售卖区
    SPECIAL = "special"  # 专间 (e.g. 裱花间, 备餐专间)
