"""The web console and API server, and its accounts: sessions, log-in limits, first admin."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, HttpUrl, model_validator
from pydantic_core import PydanticCustomError

from ._base import Port, Section
from .live import LiveConfig

__all__ = ["AuthConfig", "SameSite", "WebConfig"]

_ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$"


def _check_ice_url(value: str) -> str:
    if not value.startswith(_ICE_SCHEMES) or value.endswith(":"):
        raise ValueError(f"not a stun:/turn: URL: {value!r}")
    return value


class SameSite(StrEnum):
    # Lax keeps a user logged in when they follow a link from an alert message into the
    # console; Strict drops the cookie on that first cross-site navigation.
    LAX = "lax"
    STRICT = "strict"


class AuthConfig(Section):
    """Log-in sessions, API tokens and log-in rate limits."""

    session_idle_min: int = Field(
        default=480, ge=5, le=10080, description="A session unused this long ends (minutes)."
    )
    session_max_age_h: int = Field(
        default=72, ge=1, le=720, description="A session ends this long after log-in (hours)."
    )
    cookie_samesite: SameSite = Field(
        default=SameSite.LAX, description="SameSite attribute of the session cookie."
    )
    login_max_failures_per_user: int = Field(
        default=5, ge=1, le=100, description="Failed log-ins per user name within the window."
    )
    login_max_failures_per_ip: int = Field(
        default=30, ge=1, le=10000, description="Failed log-ins per client address in the window."
    )
    login_window_min: int = Field(
        default=15, ge=1, le=1440, description="Window of the log-in limits (minutes)."
    )
    password_min_length: int = Field(
        default=10, ge=8, le=128, description="Shortest password accepted for an account."
    )
    api_token_max_days: int = Field(
        default=365, ge=1, le=3650, description="Longest lifetime of an API token (days)."
    )
    bootstrap_admin: str = Field(
        default="admin",
        pattern=USERNAME_PATTERN,
        description="User name of the administrator created, with a random password, at "
        "the first start.",
    )

    @model_validator(mode="after")
    def _idle_within_max_age(self) -> AuthConfig:
        if self.session_idle_min > self.session_max_age_h * 60:
            raise PydanticCustomError(
                "session_order", "session_idle_min must not exceed session_max_age_h"
            )
        return self


class WebConfig(Section):
    """HTTP listener and WebRTC settings."""

    host: str = Field(
        default="127.0.0.1", min_length=1, description="Listen address; 0.0.0.0 for all."
    )
    port: Port = Field(default=8000, description="Listen port.")
    public_url: HttpUrl | None = Field(
        default=None, description="URL users reach the console at (for links in alerts)."
    )
    ice_servers: tuple[Annotated[str, AfterValidator(_check_ice_url)], ...] = Field(
        default=(), description="STUN/TURN URLs for WebRTC, e.g. 'stun:10.1.1.1:3478'."
    )
    live: LiveConfig = Field(default_factory=LiveConfig, description="Live view limits.")
    auth: AuthConfig = Field(default_factory=AuthConfig, description="Accounts and sessions.")

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` when users reach the console over https."""
        return self.public_url is not None and self.public_url.scheme == "https"
