"""Shared parameter types: ids and filters are checked before they reach the database
(PostgreSQL rejects some strings outright, e.g. with NUL, which would otherwise be a 500)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Path, Query

__all__ = ["ID_PATTERN", "RandomId", "SlugFilter", "TypeFilter"]

ID_PATTERN: Final = r"^[0-9a-f]{32}$"  # users, tokens, events, exports: 128 random bits, hex
_SLUG: Final = r"^[a-z0-9][a-z0-9_-]{0,62}$"  # towns, schools, cameras (hub.config ids)

RandomId = Annotated[str, Path(pattern=ID_PATTERN, description="32 hex characters")]
SlugFilter = Annotated[str | None, Query(pattern=_SLUG)]
TypeFilter = Annotated[str | None, Query(pattern=r"^[a-z0-9_.-]{1,32}$")]
