"""What both supervision route modules check the same way: ids, free text, who may record."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends
from pydantic import Field

from hub.config import DutyRole
from web.auth import AuthUser, Role, require_role

__all__ = ["SLUG", "TEXT", "Note", "Supervisor"]

SLUG: Final = r"^[a-z0-9][a-z0-9_-]{0,62}$"
TEXT: Final = r"^[^\x00]*$"  # PostgreSQL refuses NUL in text
# The roles that carry duties (config supervision.duties) record rounds and meals.
Supervisor = Annotated[AuthUser, Depends(require_role(*(Role(r.value) for r in DutyRole)))]
Note = Annotated[str | None, Field(default=None, max_length=2000, pattern=TEXT)]
