"""The metadata database: an async engine, sessions, and Alembic migrations at start-up."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class DatabaseError(Exception):
    """The database cannot be opened or migrated."""


def _alembic_config(connection: Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
# Hub nodes of one district start together on one PostgreSQL: the first migrates and syncs
# the registry, the others wait for it (a transaction-scoped advisory lock; any constant).
_START_LOCK: Final = 0x626B687562  # "bkhub"


async def serialize_startup(session: AsyncSession | AsyncConnection) -> None:
    """On PostgreSQL, wait until no other hub node is migrating or syncing in this database;
    the lock ends with the caller's transaction. SQLite has one writer anyway."""
    bind = session.get_bind() if isinstance(session, AsyncSession) else session
    if bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _START_LOCK})


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # Let SQLAlchemy, not the driver, open transactions (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while the recorder writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Every transaction takes the write lock (see _sqlite_begin), so a burst of requests on a
    # loaded box queues for it: wait long, as a PostgreSQL row lock would, rather than fail.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock up front and waits busy_timeout for it. A deferred
    # transaction that reads and then writes fails at once with "database is locked" when
    # another connection wrote in between (the recorder, status and archive tasks all write).
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Owns the engine; `start()` creates the SQLite directory and migrates to head."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self._echo = echo
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise DatabaseError("database not started")
        return self._engine

    async def start(self) -> None:
        if self.url.get_backend_name() == "sqlite" and self.url.database not in (None, ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self._engine = create_async_engine(self.url, echo=self._echo, pool_pre_ping=True)
        if self.url.get_backend_name() == "sqlite":
            event.listen(self._engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self._engine.sync_engine, "begin", _sqlite_begin)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        try:
            await self.migrate()
        except Exception as exc:
            await self.stop()
            safe = self.url.render_as_string(hide_password=True)
            raise DatabaseError(f"cannot open or migrate {safe}: {exc}") from exc

    async def migrate(self, revision: str = "head") -> None:
        async with self.engine.begin() as conn:
            await serialize_startup(conn)
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), revision))

    async def stop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        self._engine = None
        self._sessions = None

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        if self._sessions is None:
            raise DatabaseError("database not started")
        async with self._sessions() as session, session.begin():
            yield session
