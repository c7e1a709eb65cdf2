"""Alert delivery: channels and the escalation ladder (school, then town, then district)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from ._base import Section

__all__ = ["AlertChannel", "AlertsConfig", "EscalationConfig", "WebhookChannel"]


class WebhookChannel(Section):
    """POST each alert as JSON, signed with HMAC-SHA256 of the body."""

    type: Literal["webhook"] = "webhook"
    # repr=False: IM webhooks (WeCom, DingTalk) carry their token in the URL.
    url: HttpUrl = Field(repr=False, description="http(s) URL to POST alerts to.")
    secret: SecretStr = Field(
        default=SecretStr(""), description="HMAC signing key (an env reference)."
    )


# A discriminated union on `type`, so later channel kinds slot in without reshaping the file.
AlertChannel = Annotated[WebhookChannel, Field(discriminator="type")]


class EscalationConfig(Section):
    """Minutes an alert may stay unhandled before it goes up a level."""

    town_after_min: int = Field(
        default=15, ge=1, le=1440, description="Unhandled for this long: notify the town."
    )
    district_after_min: int = Field(
        default=30, ge=1, le=1440, description="Unhandled for this long: notify the district."
    )

    @model_validator(mode="after")
    def _ladder_order(self) -> EscalationConfig:
        if self.district_after_min < self.town_after_min:
            raise PydanticCustomError(
                "escalation_order", "district_after_min must be >= town_after_min"
            )
        return self


class AlertsConfig(Section):
    """Where alerts go and when they escalate."""

    enabled: bool = Field(default=False, description="Send alerts through the channels.")
    channels: tuple[AlertChannel, ...] = Field(default=(), description="Delivery channels.")
    escalation: EscalationConfig = Field(
        default_factory=EscalationConfig, description="Escalation delays."
    )
