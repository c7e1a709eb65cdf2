"""Special supervisor links (特别监督员): a secret that may watch one school's live views.

A link is a principal of its own kind, not a user: `current_user` refuses it (403) on every
route, and only the live routes take the `Watcher` of web.auth.watch, which accepts it. So a
route added later is closed to links unless it opts in. The secret travels as
`Authorization: Bearer bks_...`, read by the watch page from its URL fragment (never sent to
the server in the URL, so never in access logs). Secrets are made and hashed like API tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import select

from storage.db.database import Database
from storage.db.models_links import SupervisorLink
from web.auth import store
from web.auth.roles import Scope

__all__ = [
    "LINK_MAX_DAYS",
    "LINK_PREFIX",
    "LinkPrincipal",
    "LinkRefusal",
    "authenticate_link",
    "is_revoked",
    "issue_link",
    "link_owner",
    "link_state",
]

LINK_PREFIX: Final = "bks_"  # tells link secrets apart from API tokens (bkh_)
LINK_MAX_DAYS: Final = 90  # a school term at most: links are handed to people outside
_TOUCH_EVERY: Final = timedelta(seconds=60)  # last_used_at writes at most this often


class LinkRefusal(StrEnum):
    """Why a link secret was not accepted; the watch page tells the holder which."""

    INVALID = "link_invalid"
    EXPIRED = "link_expired"
    REVOKED = "link_revoked"


@dataclass(frozen=True, slots=True)
class LinkPrincipal:
    """The holder of a valid link, for one request."""

    id: str
    name: str
    school_id: str
    expires_at: datetime

    @property
    def scope(self) -> Scope:
        return Scope.school(self.school_id)

    @property
    def actor(self) -> str:
        """How the audit log names the holder: never mistaken for a user name."""
        return f"supervisor:{self.name}"[:64]


def link_owner(link_id: str) -> str:
    """The owner of a link's live viewers (web.live): never a user's id, which is hex."""
    return f"link:{link_id}"


def link_state(row: SupervisorLink, now: datetime) -> LinkRefusal | None:
    """None while the link is usable."""
    if row.revoked_at is not None:
        return LinkRefusal.REVOKED
    if row.expires_at <= now:
        return LinkRefusal.EXPIRED
    return None


async def issue_link(
    db: Database, *, name: str, school_id: str, expires_at: datetime, by: str, now: datetime
) -> tuple[SupervisorLink, str]:
    """A new link; the secret is returned here and never again."""
    secret = LINK_PREFIX + store.new_secret()
    row = SupervisorLink(
        id=store.new_id(),
        name=name,
        school_id=school_id,
        secret_hash=store.digest(secret),
        created_by=by,
        created_at=now,
        expires_at=expires_at,
    )
    async with db.session() as s:
        s.add(row)
        await s.flush()
        store.audit(
            s,
            at=now,
            actor=by,
            action="supervisor_link_create",
            detail={"link": row.id, "name": name, "school": school_id},
        )
    return row, secret


async def authenticate_link(
    db: Database, secret: str, now: datetime
) -> LinkPrincipal | LinkRefusal:
    if not secret.startswith(LINK_PREFIX):
        return LinkRefusal.INVALID
    async with db.session() as s:
        row = await s.scalar(
            select(SupervisorLink).where(SupervisorLink.secret_hash == store.digest(secret))
        )
        if row is None:
            return LinkRefusal.INVALID
        refusal = link_state(row, now)
        if refusal is not None:
            return refusal
        if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
            row.last_used_at = now
        return LinkPrincipal(row.id, row.name, row.school_id, row.expires_at)


async def is_revoked(db: Database, link_id: str) -> bool:
    """Whether the link was revoked (e.g. while one of its offers was being answered)."""
    async with db.session() as s:
        row = await s.get(SupervisorLink, link_id)
        return row is None or row.revoked_at is not None
