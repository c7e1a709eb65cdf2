"""Camera and hub health: sampling, thresholds, hysteresis, kitchen hours, notifications.

Every check turns a measurement into good/bad; a problem is raised after `raise_after` bad
evaluations in a row and cleared after `clear_after` good ones, so a flicker never flaps.
Picture checks are evaluated once per sampled frame (`sample_every_s`), the others once per
`check_every_s`. Outside a kitchen's open hours a dark picture is "closed", not "black".
"""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import Any

from pydantic import Field

from ._base import Section, Slug
from ._locs import Loc
from .alerts import Weekday

__all__ = [
    "CheckName",
    "CheckRule",
    "HealthConfig",
    "HealthThresholds",
    "KitchenHours",
    "OpenHours",
    "find_health_reference_problems",
]


class CheckName(StrEnum):
    """Every health check; camera checks first, then the hub's own."""

    OFFLINE = "offline"
    FROZEN = "frozen"
    BLACK = "black"
    OVEREXPOSED = "overexposed"
    BLURRED = "blurred"
    COVERED = "covered"
    MOVED = "moved"
    LOW_FPS = "low_fps"
    LOW_BITRATE = "low_bitrate"
    KEYFRAMES = "keyframes"
    CLOCK = "clock"  # the ONVIF clock against the hub's
    STREAM_CLOCK = "stream_clock"  # stream timestamps against the wall clock
    RECORDING_GAP = "recording_gap"
    SPOOL = "spool"
    OBJECT_STORE = "object_store"
    DETECTOR = "detector"


class CheckRule(Section):
    """Hysteresis and notification of one check; unset fields keep the built-in default."""

    enabled: bool = Field(default=True, description="false: never evaluated, never raised.")
    raise_after: int | None = Field(
        default=None, ge=1, le=1000, description="Bad evaluations in a row that raise it."
    )
    clear_after: int | None = Field(
        default=None, ge=1, le=1000, description="Good evaluations in a row that clear it."
    )
    notify: bool = Field(default=True, description="Raise a health event (alerts) for it.")


class HealthThresholds(Section):
    """Where good turns bad. Pictures are measured on the 320 px grey sample."""

    black_mean: float = Field(
        default=30, ge=0, le=128, description="Mean grey level below this is a black picture."
    )
    overexposed_mean: float = Field(
        default=235, ge=128, le=255, description="Mean grey level above this is over-exposed."
    )
    covered_std: float = Field(
        default=12, ge=0, le=64, description="Grey-level spread below this may be a cover."
    )
    covered_edges: float = Field(
        default=0.004, ge=0, le=0.2, description="Edge pixel fraction below this may be a cover."
    )
    blur_ratio: float = Field(
        default=0.25, gt=0, lt=1, description="Sharpness below this share of the baseline."
    )
    frozen_diff: float = Field(
        default=0.3, ge=0, le=10, description="Mean grey change between samples below this."
    )
    moved_shift: float = Field(
        default=0.04, gt=0, le=0.5, description="View shift (share of the width) that is a move."
    )
    moved_scale: float = Field(
        default=0.08, gt=0, le=1, description="Zoom change (share) that is a move."
    )
    moved_rotation_deg: float = Field(
        default=3.0, gt=0, le=90, description="Rotation (degrees) that is a move."
    )
    moved_min_matches: int = Field(
        default=10, ge=4, le=500, description="Fewer matching features: the scene is gone."
    )
    low_fps_ratio: float = Field(
        default=0.5, gt=0, lt=1, description="Frame rate below this share of the baseline."
    )
    low_bitrate_ratio: float = Field(
        default=0.2, gt=0, lt=1, description="Bitrate below this share of the baseline."
    )
    keyframe_max_s: float = Field(
        default=10.0, gt=0, le=120, description="Keyframe interval above this is too long."
    )
    keyframe_ratio: float = Field(
        default=2.5, gt=1, le=20, description="Keyframe interval above this many baselines."
    )
    keyframe_irregular: float = Field(
        default=0.5, gt=0, le=5, description="Spread (std / mean) of intervals above this."
    )
    clock_offset_s: float = Field(
        default=60, gt=0, le=86400, description="ONVIF clock off the hub's by more: drift."
    )
    stream_drift: float = Field(
        default=0.01, gt=0, le=1, description="Stream clock running this much fast or slow."
    )
    recording_gap_s: float = Field(
        default=10, gt=0, le=3600, description="A hole this long between segments while online."
    )
    spool_share: float = Field(
        default=0.8, gt=0, le=1, description="Spool use above this share of the quota."
    )
    baseline_samples: int = Field(
        default=10, ge=2, le=1000, description="Healthy samples before relative checks judge."
    )


class OpenHours(Section):
    """A daily period when a kitchen works (lights on)."""

    days: tuple[Weekday, ...] = Field(default=tuple(Weekday), min_length=1, description="Days.")
    start: time = Field(description="Local opening time, e.g. '05:30'.")
    end: time = Field(description="Local closing time; before start means past midnight.")


class KitchenHours(Section):
    """When a school's kitchen (or all its kitchens) is open; outside, dark is 'closed'."""

    school: Slug = Field(description="School id.")
    kitchen: Slug | None = Field(default=None, description="Kitchen id; omit for all kitchens.")
    open: tuple[OpenHours, ...] = Field(min_length=1, description="Open periods.")


class HealthConfig(Section):
    """Camera and hub health checks."""

    enabled: bool = Field(default=True, description="Run the health checks.")
    sample_every_s: float = Field(
        default=4.0, ge=0.2, le=300, description="Seconds between decoded keyframes per camera."
    )
    check_every_s: float = Field(
        default=2.0, ge=0.1, le=60, description="Seconds between evaluations of the checks."
    )
    sample_width: int = Field(
        default=320, ge=64, le=1280, description="Width of the grey picture the checks see."
    )
    onvif_clock_every_s: float = Field(
        default=600, ge=1, le=86400, description="Seconds between ONVIF clock readings."
    )
    recording_every_s: float = Field(
        default=60, ge=1, le=3600, description="Seconds between recording-gap checks."
    )
    reference_every_s: float = Field(
        default=60, ge=0.1, le=86400, description="Seconds between reference-view candidates."
    )
    thresholds: HealthThresholds = Field(
        default_factory=HealthThresholds, description="Thresholds of the checks."
    )
    checks: dict[CheckName, CheckRule] = Field(
        default_factory=dict, description="Per check: enabled, raise_after, clear_after, notify."
    )
    kitchen_hours: tuple[KitchenHours, ...] = Field(
        default=(), description="Open hours; kitchens not listed count as always open."
    )
    digest_at: time | None = Field(
        default=time(8, 0), description="Local time of the district's daily digest; null: none."
    )
    history_days: int = Field(
        default=400, ge=1, le=3650, description="Days of health history kept for uptime."
    )


def find_health_reference_problems(config: Any) -> list[tuple[Loc, str]]:
    """Kitchen hours naming a school or kitchen the district does not have."""
    health = getattr(config, "health", None)
    if not isinstance(health, HealthConfig):
        return []
    kitchens = {s.id: {k.id for k in s.kitchens} for s in getattr(config, "schools", ())}
    problems: list[tuple[Loc, str]] = []
    for i, hours in enumerate(health.kitchen_hours):
        loc: Loc = ("health", "kitchen_hours", i)
        if hours.school not in kitchens:
            problems.append(((*loc, "school"), f"unknown school id {hours.school!r}"))
        elif hours.kitchen is not None and hours.kitchen not in kitchens[hours.school]:
            problems.append(((*loc, "kitchen"), f"unknown kitchen {hours.kitchen!r}"))
    return problems
