"""The metadata database: SQLite by default, PostgreSQL for larger districts."""

from __future__ import annotations

from pydantic import Field, field_validator

from ._base import Section

__all__ = ["DatabaseConfig"]

SQLITE_PREFIX = "sqlite+aiosqlite://"
POSTGRES_PREFIX = "postgresql+asyncpg://"


class DatabaseConfig(Section):
    """SQLAlchemy async URL of the metadata database."""

    # repr=False: a PostgreSQL URL carries its password.
    url: str = Field(
        default="sqlite+aiosqlite:///data/bkhub.db",
        repr=False,
        description="sqlite+aiosqlite:///relative/or/absolute.db or postgresql+asyncpg://...",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")

    @field_validator("url")
    @classmethod
    def _supported_driver(cls, value: str) -> str:
        if not value.startswith((SQLITE_PREFIX, POSTGRES_PREFIX)):
            raise ValueError(f"expected a {SQLITE_PREFIX} or {POSTGRES_PREFIX} URL")
        return value
