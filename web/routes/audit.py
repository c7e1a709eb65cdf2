"""The audit log: who logged in, watched, exported, acknowledged or changed what, and when.

District admins read all of it; a town or a principal reads the entries about cameras in
their scope and the entries written by accounts in their scope.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import ColumnElement, or_, select

from hub.config import HubConfig
from storage.db.models import AuditEntry
from storage.db.models_accounts import User
from web.auth import AdminUser, AuthUser, ScopeKind, visible_camera_ids
from web.deps import HubDep
from web.errors import ERROR_RESPONSES
from web.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, make_page
from web.params import SlugFilter, TypeFilter

router = APIRouter(prefix="/api/audit", tags=["audit"], responses=ERROR_RESPONSES)


class AuditView(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    camera_id: str | None
    object_key: str | None
    detail: dict[str, Any] | None


def _view(row: AuditEntry) -> AuditView:
    try:
        detail = json.loads(row.detail) if row.detail else None
    except ValueError:
        detail = {"text": row.detail}
    return AuditView(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        camera_id=row.camera_id,
        object_key=row.object_key,
        detail=detail if isinstance(detail, dict) or detail is None else {"value": detail},
    )


def _scope_filter(user: AuthUser, config: HubConfig) -> ColumnElement[bool] | None:
    if user.scope.kind is ScopeKind.DISTRICT:
        return None
    if user.scope.kind is ScopeKind.SCHOOL:
        scopes = [str(user.scope)]
    else:
        schools = [f"school:{s.id}" for s in config.schools if s.town == user.scope.id]
        scopes = [str(user.scope), *schools]
    accounts = select(User.username).where(User.scope.in_(scopes))
    cameras = sorted(visible_camera_ids(user, config))
    return or_(AuditEntry.camera_id.in_(cameras), AuditEntry.actor.in_(accounts))


@router.get("")
async def list_audit(
    user: AdminUser,
    hub: HubDep,
    actor: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9._@?-]{1,64}$")] = None,
    action: TypeFilter = None,
    camera: SlugFilter = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[AuditView]:
    """Audit entries in the caller's scope, newest first."""
    query = select(AuditEntry)
    scoped = _scope_filter(user, hub.config)
    if scoped is not None:
        query = query.where(scoped)
    for column, value in (
        (AuditEntry.actor, actor),
        (AuditEntry.action, action),
        (AuditEntry.camera_id, camera),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if cursor:
        (last_id,) = decode_cursor(cursor, int)
        query = query.where(AuditEntry.id < last_id)
    query = query.order_by(AuditEntry.id.desc()).limit(limit + 1)
    async with hub.db.session() as s:
        rows = list(await s.scalars(query))
    return make_page(rows, limit, _view, lambda r: (r.id,))
