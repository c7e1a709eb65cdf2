"""Account management: district admins manage everyone; a town manages its schools'
principals and canteen managers; a principal manages the school's canteen managers.

Accounts outside the caller's scope do not exist for the caller (404); accounts inside it
that the caller may not manage, or grants beyond the caller's own power, are 403.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import HubConfig
from hub.config.web import USERNAME_PATTERN
from storage.db.models_accounts import User
from web.auth import AdminUser, AuthDep, AuthUser, Role, Scope, ScopeKind, audit, not_found
from web.auth.roles import ROLE_SCOPE, SCOPE_PATTERN, can_manage, scope_contains
from web.auth.store import delete_sessions_of, new_id
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError
from web.pagination import DEFAULT_LIMIT, Cursor, Limit, Page, decode_cursor, make_page
from web.params import RandomId

router = APIRouter(prefix="/api/users", tags=["users"], responses=ERROR_RESPONSES)

Locale = Literal["zh-CN", "en"]


class UserView(BaseModel):
    id: str
    username: str
    display_name: str
    role: Role
    scope: str
    locale: str
    disabled: bool
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(pattern=USERNAME_PATTERN, description="Stored in lowercase")
    password: str = Field(min_length=8, max_length=1024)
    display_name: str = Field(min_length=1, max_length=200)
    role: Role
    scope: str = Field(pattern=SCOPE_PATTERN, description="district, town:<id> or school:<id>")
    locale: Locale = "zh-CN"


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    role: Role | None = None
    scope: str | None = Field(default=None, pattern=SCOPE_PATTERN)
    locale: Locale | None = None
    disabled: bool | None = None


def _view(row: User) -> UserView:
    return UserView.model_validate(row, from_attributes=True)


def _town_of(scope: Scope, config: HubConfig) -> str | None:
    if scope.kind is not ScopeKind.SCHOOL:
        return None
    try:
        return config.school(scope.id or "").town
    except KeyError:
        return None


def _node_exists(scope: Scope, config: HubConfig) -> bool:
    try:
        if scope.kind is ScopeKind.TOWN:
            config.town(scope.id or "")
        elif scope.kind is ScopeKind.SCHOOL:
            config.school(scope.id or "")
    except KeyError:
        return False
    return True


def _may_manage(actor: AuthUser, role: Role, scope: Scope, config: HubConfig) -> bool:
    return can_manage(actor.role, actor.scope, role, scope, _town_of(scope, config))


def _check_grant(actor: AuthUser, role: Role, scope: Scope, config: HubConfig) -> None:
    """422 for a role at the wrong kind of node, 403 beyond the actor's power."""
    if ROLE_SCOPE[role] is not scope.kind:
        raise ApiError(422, "validation_error", f"{role} needs a {ROLE_SCOPE[role]} scope")
    if not _may_manage(actor, role, scope, config):
        raise ApiError(403, "forbidden", "you may not grant this role or scope", zh="无权授予")
    if not _node_exists(scope, config):
        raise ApiError(422, "validation_error", f"no {scope.kind} with id {scope.id!r}")


def _visible_scopes(actor: AuthUser, config: HubConfig) -> list[str] | None:
    """Scope strings of the accounts the actor can see; None for all of them."""
    if actor.scope.kind is ScopeKind.DISTRICT:
        return None
    if actor.scope.kind is ScopeKind.SCHOOL:
        return [str(actor.scope)]
    schools = [str(Scope.school(s.id)) for s in config.schools if s.town == actor.scope.id]
    return [str(actor.scope), *schools]


async def _target(s: AsyncSession, actor: AuthUser, user_id: str, config: HubConfig) -> User:
    """The account, if the actor can see it and may manage it."""
    row = await s.get(User, user_id)
    if row is None:
        raise not_found("user")
    scope = Scope.parse(row.scope)
    if not scope_contains(actor.scope, scope, _town_of(scope, config)):
        raise not_found("user")
    if not _may_manage(actor, Role(row.role), scope, config):
        raise ApiError(403, "forbidden", "you may not manage this account", zh="无权管理该账号")
    return row


@router.get("")
async def list_users(
    actor: AdminUser,
    auth: AuthDep,
    hub: HubDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[UserView]:
    """Accounts in the caller's scope, by user name."""
    query = select(User).order_by(User.username).limit(limit + 1)
    scopes = _visible_scopes(actor, hub.config)
    if scopes is not None:
        query = query.where(User.scope.in_(scopes))
    if cursor:
        (after,) = decode_cursor(cursor, str)
        query = query.where(User.username > after)
    async with auth.db.session() as s:
        rows = list(await s.scalars(query))
    return make_page(rows, limit, _view, lambda r: (r.username,))


@router.get("/{user_id}")
async def get_user(user_id: RandomId, actor: AdminUser, auth: AuthDep, hub: HubDep) -> UserView:
    async with auth.db.session() as s:
        row = await s.get(User, user_id)
        scope = Scope.parse(row.scope) if row else None
        if (
            row is None
            or scope is None
            or not scope_contains(actor.scope, scope, _town_of(scope, hub.config))
        ):
            raise not_found("user")
        return _view(row)


@router.post("", status_code=201, responses={409: ERROR_RESPONSES[404]})
async def create_user(body: UserCreate, actor: AdminUser, auth: AuthDep, hub: HubDep) -> UserView:
    scope = Scope.parse(body.scope)
    _check_grant(actor, body.role, scope, hub.config)
    _check_password(body.password, auth.config.password_min_length)
    now = auth.now()
    row = User(
        id=new_id(),
        username=body.username.lower(),
        display_name=body.display_name,
        password_hash=await auth.passwords.hash(body.password),
        role=body.role.value,
        scope=str(scope),
        locale=body.locale,
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    try:
        async with auth.db.session() as s:
            s.add(row)
            await s.flush()
            audit(
                s,
                at=now,
                actor=actor.username,
                action="user_create",
                detail={"user": row.username, "role": row.role, "scope": row.scope},
            )
    except IntegrityError:
        raise ApiError(409, "conflict", "user name taken", zh="用户名已存在") from None
    return _view(row)


@router.patch("/{user_id}")
async def update_user(
    user_id: RandomId, body: UserPatch, actor: AdminUser, auth: AuthDep, hub: HubDep
) -> UserView:
    """Change an account; a new password or disabling it ends its sessions."""
    changes = body.model_dump(exclude_none=True)
    # Never on oneself: so the acting district admin always remains, and nobody escalates.
    if actor.id == user_id and {"role", "scope", "disabled"} & changes.keys():
        raise ApiError(403, "forbidden", "ask another admin to change your own role or scope")
    if body.password is not None:
        _check_password(body.password, auth.config.password_min_length)
    new_hash = await auth.passwords.hash(body.password) if body.password else None
    async with auth.db.session() as s:
        row = await _target(s, actor, user_id, hub.config)
        role = body.role or Role(row.role)
        scope = Scope.parse(body.scope) if body.scope else Scope.parse(row.scope)
        if body.role or body.scope:
            _check_grant(actor, role, scope, hub.config)
        row.role, row.scope = role.value, str(scope)
        for name in ("display_name", "locale", "disabled"):
            if name in changes:
                setattr(row, name, changes[name])
        if new_hash:
            row.password_hash = new_hash
        if new_hash or body.disabled:
            await delete_sessions_of(s, row.id)
        row.updated_at = auth.now()
        audit(
            s,
            at=row.updated_at,
            actor=actor.username,
            action="user_update",
            detail={"user": row.username, "changed": sorted(changes)},
        )
        return _view(row)


@router.delete("/{user_id}", status_code=204)
async def delete_user(user_id: RandomId, actor: AdminUser, auth: AuthDep, hub: HubDep) -> None:
    """Delete an account with its sessions and API tokens; the audit log keeps its name."""
    if actor.id == user_id:
        raise ApiError(403, "forbidden", "you cannot delete your own account")
    async with auth.db.session() as s:
        row = await _target(s, actor, user_id, hub.config)
        await s.delete(row)
        audit(
            s,
            at=auth.now(),
            actor=actor.username,
            action="user_delete",
            detail={"user": row.username, "role": row.role, "scope": row.scope},
        )


def _check_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise ApiError(
            422,
            "weak_password",
            f"use at least {min_length} characters",
            zh=f"密码至少 {min_length} 位",
        )
