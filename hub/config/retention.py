"""How long recordings, violation clips and hard examples are kept."""

from __future__ import annotations

from pydantic import Field

from ._base import Section

__all__ = ["RetentionConfig", "RetentionOverride"]

_MAX_DAYS = 3650  # ten years: anything longer is a typo


class RetentionOverride(Section):
    """Per-school retention; unset fields use the district default."""

    recordings_days: int | None = Field(
        default=None, ge=1, le=_MAX_DAYS, description="Days to keep continuous recordings."
    )
    clips_days: int | None = Field(
        default=None, ge=1, le=_MAX_DAYS, description="Days to keep violation clips."
    )


class RetentionConfig(Section):
    """District-wide retention, with per-school overrides."""

    recordings_days: int = Field(
        default=30, ge=1, le=_MAX_DAYS, description="Days to keep continuous recordings."
    )
    clips_days: int = Field(
        default=180, ge=1, le=_MAX_DAYS, description="Days to keep violation clips."
    )
    hard_examples_days: int = Field(
        default=365, ge=1, le=_MAX_DAYS,
        description="Days to keep the frames verdicts keep as training data (hard examples).",
    )  # fmt: skip
    school_overrides: dict[str, RetentionOverride] = Field(
        default_factory=dict, description="School id -> override."
    )
