"""Violation rules: which apply where, how long evidence must hold, and the event's media.

The detector (section `detector`) finds objects in sampled frames; these rules turn them
into violation events: a violation is raised when it holds in `k` of the last `n` samples,
and one event lasts until it has been absent for `cooldown_s`. Each camera says which
rules apply (by default its room's), where (zones) and when (its kitchen's open hours).
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Final

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from ._base import Name, Section
from .health import OpenHours
from .rooms import RoomKind

__all__ = [
    "DEFAULT_ROOM_RULES",
    "HYGIENE",
    "PESTS",
    "CameraDetection",
    "DetectionConfig",
    "TypeRule",
    "ViolationType",
    "Zone",
]


class ViolationType(StrEnum):
    """Event types the detector raises (hub.alerts.routing.TYPE_LABELS names them)."""

    NO_CHEF_HAT = "no_chef_hat"  # head_bare on a person
    NO_MASK = "no_mask"  # face_bare
    NO_GLOVES = "no_gloves"  # hand_bare
    RAT = "rat"
    COCKROACH = "cockroach"


HYGIENE: Final = frozenset(
    {ViolationType.NO_CHEF_HAT, ViolationType.NO_MASK, ViolationType.NO_GLOVES}
)
PESTS: Final = frozenset({ViolationType.RAT, ViolationType.COCKROACH})

_EVERYWHERE = (ViolationType.NO_CHEF_HAT, ViolationType.RAT, ViolationType.COCKROACH)
_STRICT = tuple(ViolationType)  # 专间 and 凉菜间: masks and gloves as well
DEFAULT_ROOM_RULES: Final = MappingProxyType(
    {
        room: _STRICT if room in (RoomKind.COLD_DISH, RoomKind.SPECIAL) else _EVERYWHERE
        for room in RoomKind
    }
)

Unit = Annotated[float, Field(ge=0, le=1)]
Point = tuple[Unit, Unit]


def _polygon_area(points: tuple[Point, ...]) -> float:
    """Shoelace formula: zero for collinear or repeated points."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1], strict=True):
        total += x0 * y1 - x1 * y0
    return abs(total) / 2


class Zone(Section):
    """A polygon of the picture, in fractions of its width and height (0..1, origin top left).

    A detection counts by its reference point: a person's feet (bottom centre of the box),
    the centre of anything else. With include zones, a rule counts only inside one of them;
    exclude zones (e.g. a window onto the corridor) never count.
    """

    name: Name = Field(description="What the area is, e.g. '切配台'.")
    points: tuple[Point, ...] = Field(
        min_length=3, max_length=64, description="Corners [x, y], each 0..1, in order."
    )
    types: tuple[ViolationType, ...] = Field(
        default=(), description="Rules the zone applies to; empty: every rule."
    )
    exclude: bool = Field(default=False, description="true: detections here never count.")

    @model_validator(mode="after")
    def _has_area(self) -> Zone:
        if _polygon_area(self.points) < 1e-4:
            raise PydanticCustomError("zone_area", "the zone's points enclose no area")
        return self


class CameraDetection(Section):
    """Per camera: which rules apply, where and when. Unset fields keep the defaults."""

    enabled: bool = Field(default=True, description="false: no detection on this camera.")
    rules: tuple[ViolationType, ...] | None = Field(
        default=None, description="Rules that apply here; null: the room's (detection.rooms)."
    )
    zones: tuple[Zone, ...] = Field(default=(), max_length=32, description="Areas of the view.")
    hours: tuple[OpenHours, ...] | None = Field(
        default=None,
        description="When hygiene rules apply; null: the kitchen's open hours "
        "(health.kitchen_hours), []: always. Pests count at any hour.",
    )


class TypeRule(Section):
    """Per violation type: overrides of the shared persistence and confidence settings."""

    k: int | None = Field(default=None, ge=1, le=100, description="Samples that must show it.")
    n: int | None = Field(default=None, ge=1, le=100, description="Of the last n samples.")
    min_confidence: float | None = Field(
        default=None, ge=0, le=1, description="Minimum score of its evidence; null: detector's."
    )


# Types whose defaults differ from the shared ones; what a type lists under `types` overrides
# these field by field. Scores measured on the scenario clips' crops with the committed model:
# - cockroach: a tile joint read as a 10 px cockroach scores 0.32-0.41, real ones 0.58-0.9;
# - no_gloves: gloved hands misread as bare score 0.32-0.49, bare hands 0.51-0.88 (the best
#   of a worker's hands 0.73-0.88).
# And on real photos (bench/realdata.py --choose-thresholds on a real val split, issue 13):
# - rat: 0.7 is the lowest score that keeps false rats <= 2 per 100 real pest-free photos
#   (35 at 0.4); the scenario suite still finds every synthetic rat at 0.7. The same rule
#   would put cockroach at 0.8, which misses every synthetic cockroach: it stays at 0.5.
DEFAULT_TYPE_RULES: Final = MappingProxyType(
    {
        ViolationType.RAT: TypeRule(min_confidence=0.7),
        ViolationType.COCKROACH: TypeRule(min_confidence=0.5),
        ViolationType.NO_GLOVES: TypeRule(min_confidence=0.55),
    }
)


class DetectionConfig(Section):
    """How detections become violation events."""

    k: int = Field(default=3, ge=1, le=100, description="Samples that must show a violation.")
    n: int = Field(
        default=5, ge=1, le=100, description="Of the last n samples (3 of 5 at 1 Hz: ~3 s)."
    )
    cooldown_s: float = Field(
        default=60, ge=0, le=3600, description="Absent this long: the event ends (else it goes on)."
    )
    pre_roll_s: float = Field(
        default=10, ge=0, le=60, description="Seconds of video before the event in its clip."
    )
    post_roll_s: float = Field(
        default=10, ge=0, le=120, description="Seconds of video after the event is raised."
    )
    update_every_s: float = Field(
        default=10, ge=1, le=600, description="How often a lasting event's row is refreshed."
    )
    track_max_age_s: float = Field(
        default=4, ge=0.5, le=60, description="An object unseen this long is forgotten."
    )
    snapshot_quality: int = Field(default=85, ge=30, le=100, description="JPEG quality.")
    types: dict[ViolationType, TypeRule] = Field(
        default_factory=dict,
        description="Per type: k, n, min_confidence overrides; unlisted types keep the default.",
    )
    rooms: dict[RoomKind, tuple[ViolationType, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_ROOM_RULES),
        description="Rules per room kind; rooms not listed keep the default.",
    )

    @model_validator(mode="after")
    def _k_within_n(self) -> DetectionConfig:
        for name, k, n in [("", self.k, self.n)] + [
            (f"types.{t}: ", r.k or self.k, r.n or self.n) for t, r in self.types.items()
        ]:
            if k > n:
                raise PydanticCustomError("k_of_n", f"{name}k ({k}) cannot be more than n ({n})")
        return self

    def type_rule(self, vtype: ViolationType) -> TypeRule | None:
        """A type's own settings: the configured fields over the built-in ones; None if neither."""
        own, built_in = self.types.get(vtype), DEFAULT_TYPE_RULES.get(vtype)
        if own is None or built_in is None:
            return own or built_in
        return built_in.model_copy(update=own.model_dump(exclude_none=True))

    def persistence(self, vtype: ViolationType) -> tuple[int, int]:
        """(k, n) of a violation type."""
        rule = self.type_rule(vtype)
        if rule is None:
            return self.k, self.n
        return rule.k or self.k, rule.n or self.n

    def room_rules(self, room: RoomKind) -> tuple[ViolationType, ...]:
        return self.rooms.get(room, DEFAULT_ROOM_RULES[room])
