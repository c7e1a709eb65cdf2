"""Shared building blocks for the config sections: the strict base model and common types."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

# Ids end up in URLs, object-store keys and log lines: keep them boring ASCII.
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9._-]+$|^\[?[0-9A-Fa-f:.]+\]?$")


class Section(BaseModel):
    """Base of every config model: unknown keys are errors and values are frozen after load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def check_slug(value: str) -> str:
    if not _SLUG_RE.match(value):
        raise ValueError(
            f"invalid id {value!r}: use 1-63 lowercase ASCII letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return value


def check_host(value: str) -> str:
    if not _HOST_RE.match(value):
        raise ValueError(f"invalid host {value!r}: give a host name or IP address only")
    return value


def check_rtsp_url(value: str) -> str:
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError on a malformed or out-of-range port
    except ValueError:
        raise ValueError("malformed rtsp:// URL") from None
    if parts.scheme.lower() not in ("rtsp", "rtsps"):
        raise ValueError("not an rtsp:// URL")
    if not parts.hostname:
        raise ValueError("rtsp:// URL has no host")
    if port == 0:
        raise ValueError("rtsp:// URL has port 0")
    # Credentials inside a URL end up in logs and reprs; they belong in the secret fields.
    if parts.username is not None or parts.password is not None:
        raise ValueError("put credentials in rtsp_username/rtsp_password, not in the URL")
    return value


Slug = Annotated[str, AfterValidator(check_slug)]
Host = Annotated[str, AfterValidator(check_host)]
RtspUrl = Annotated[str, AfterValidator(check_rtsp_url)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Port = Annotated[int, Field(ge=1, le=65535)]
