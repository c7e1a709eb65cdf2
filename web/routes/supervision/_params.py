"""What both supervision route modules check the same way: ids, free text, who may record."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends
from pydantic import Field

from hub.config import DutyRole, HubConfig
from web.auth import AuthUser, Role, not_found, require_role

__all__ = ["SLUG", "TEXT", "Note", "Supervisor", "ensure_camera_of"]

SLUG: Final = r"^[a-z0-9][a-z0-9_-]{0,62}$"
TEXT: Final = r"^[^\x00]*$"  # PostgreSQL refuses NUL in text
# The roles that carry duties (config supervision.duties) record rounds and meals.
Supervisor = Annotated[AuthUser, Depends(require_role(*(Role(r.value) for r in DutyRole)))]
Note = Annotated[str | None, Field(default=None, max_length=2000, pattern=TEXT)]


def ensure_camera_of(config: HubConfig, camera_id: str, school_id: str) -> None:
    """404 unless the camera belongs to the round's school."""
    try:
        school = config.school_of(camera_id).id
    except KeyError:
        school = None
    if school != school_id:
        raise not_found("camera")
