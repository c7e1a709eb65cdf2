"""Queries and writes on the account tables, and the audit helper every route uses."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db.models import AuditEntry
from storage.db.models_accounts import ApiToken, User, UserSession

__all__ = [
    "audit",
    "delete_expired_sessions",
    "delete_sessions_of",
    "digest",
    "new_id",
    "new_secret",
    "session_with_user",
    "token_with_user",
    "user_by_username",
    "user_count",
]


def new_id() -> str:
    """32 hex characters (128 random bits): ids that appear in URLs."""
    return secrets.token_hex(16)


def new_secret() -> str:
    """43 URL-safe characters (256 random bits): session and API token values."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the database keeps of a secret. Plain SHA-256 suffices: the input is random."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def user_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def user_by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def session_with_user(
    session: AsyncSession, session_id: str
) -> tuple[UserSession, User] | None:
    row = (
        await session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.id == session_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def token_with_user(session: AsyncSession, token_hash: str) -> tuple[ApiToken, User] | None:
    row = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def delete_sessions_of(
    session: AsyncSession, user_id: str, *, keep: Collection[str] = ()
) -> None:
    await session.execute(
        delete(UserSession).where(UserSession.user_id == user_id, UserSession.id.not_in(keep))
    )


async def delete_expired_sessions(session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(UserSession).where(UserSession.expires_at <= now))


def audit(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    camera_id: str | None = None,
    object_key: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit entry to the session's transaction (written when it commits)."""
    session.add(
        AuditEntry(
            at=at,
            actor=actor[:64],
            action=action[:32],
            camera_id=camera_id,
            object_key=object_key,
            detail=None if detail is None else json.dumps(detail, ensure_ascii=False),
        )
    )
