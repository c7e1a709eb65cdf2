"""Log-in, log-out and the caller's own account."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from hub.config import HubConfig
from hub.config.web import SameSite
from storage.db.models_accounts import User
from web.auth import (
    ADMIN_ROLES,
    CSRF_COOKIE,
    SESSION_COOKIE,
    Auth,
    AuthDep,
    AuthUser,
    CurrentUser,
    Role,
    Scope,
    ScopeKind,
    Via,
    audit,
)
from web.auth.service import BadCredentials, RateLimited
from web.auth.store import delete_sessions_of
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=ERROR_RESPONSES)

Locale = Literal["zh-CN", "en"]


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    id: str
    username: str
    display_name: str
    role: Role
    scope: str = Field(description="district, town:<id> or school:<id>")
    scope_name: str = Field(description="Display name of the scope node, e.g. the school")
    locale: str
    admin: bool = Field(description="May manage accounts and read the audit log")
    csrf_token: str | None = Field(
        description="Send back in X-CSRF-Token on every change made with the session cookie; "
        "null for API tokens"
    )


class MePatch(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    locale: Locale | None = None


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


def _scope_name(scope: Scope, config: HubConfig) -> str:
    try:
        if scope.kind is ScopeKind.TOWN:
            return config.town(scope.id or "").name
        if scope.kind is ScopeKind.SCHOOL:
            return config.school(scope.id or "").name
    except KeyError:
        return str(scope)  # a node removed from the config since the account was made
    return config.district.name


def me_view(user: AuthUser, config: HubConfig) -> Me:
    return Me(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        scope=str(user.scope),
        scope_name=_scope_name(user.scope, config),
        locale=user.locale,
        admin=user.role in ADMIN_ROLES,
        csrf_token=user.csrf_token,
    )


def _set_cookies(response: Response, auth: Auth, token: str, csrf: str) -> None:
    samesite: Literal["lax", "strict"] = (
        "strict" if auth.config.cookie_samesite is SameSite.STRICT else "lax"
    )
    # The session cookie is HttpOnly; the CSRF cookie is for the console's script to read.
    for name, value, http_only in ((SESSION_COOKIE, token, True), (CSRF_COOKIE, csrf, False)):
        response.set_cookie(
            name,
            value,
            max_age=int(auth.session_max_age.total_seconds()),
            path="/",
            secure=auth.secure_cookies,
            httponly=http_only,
            samesite=samesite,
        )


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login", responses={429: ERROR_RESPONSES[401]})
async def login(
    body: LoginRequest, request: Request, response: Response, auth: AuthDep, hub: HubDep
) -> Me:
    """Log in with user name and password; sets the session and CSRF cookies."""
    try:
        result = await auth.login(body.username, body.password, client=_client(request))
    except RateLimited as exc:
        raise ApiError(
            429,
            "rate_limited",
            "too many failed log-ins; try again later",
            zh="登录失败次数过多，请稍后再试",
            headers={"Retry-After": str(int(exc.retry_after_s) + 1)},
        ) from None
    except BadCredentials:
        raise ApiError(
            401, "bad_credentials", "wrong user name or password", zh="用户名或密码错误"
        ) from None
    _set_cookies(response, auth, result.session_token, result.user.csrf_token or "")
    return me_view(result.user, hub.config)


@router.post("/logout", status_code=204)
async def logout(user: CurrentUser, response: Response, auth: AuthDep) -> None:
    """End this browser session (an API token stays valid: revoke it instead)."""
    await auth.logout(user)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=auth.secure_cookies)


@router.get("/me")
async def me(user: CurrentUser, hub: HubDep) -> Me:
    """The caller: role, scope, locale and the CSRF token of the session."""
    return me_view(user, hub.config)


@router.patch("/me")
async def update_me(body: MePatch, user: CurrentUser, auth: AuthDep, hub: HubDep) -> Me:
    """Change the caller's display name or console language."""
    async with auth.db.session() as s:
        row = await s.get(User, user.id)
        if row is None:
            raise ApiError(401, "unauthorized", "account gone")
        if body.display_name is not None:
            row.display_name = body.display_name
        if body.locale is not None:
            row.locale = body.locale
        row.updated_at = auth.now()
        updated = replace(user, display_name=row.display_name, locale=row.locale)
    return me_view(updated, hub.config)


@router.post("/password", status_code=204)
async def change_password(
    body: PasswordChange, request: Request, user: CurrentUser, auth: AuthDep
) -> None:
    """Change the caller's password; every other session of the account ends."""
    if len(body.new_password) < auth.config.password_min_length:
        raise ApiError(
            422,
            "weak_password",
            f"use at least {auth.config.password_min_length} characters",
            zh=f"密码至少 {auth.config.password_min_length} 位",
        )
    wait = auth.limiter.retry_after(user.username, _client(request))
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            "too many wrong passwords; try again later",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    async with auth.db.session() as s:
        row = await s.get(User, user.id)
        current = row.password_hash if row is not None else None
    if not await auth.passwords.verify(current, body.current_password):
        auth.limiter.failed(user.username, _client(request))
        raise ApiError(403, "bad_credentials", "current password is wrong", zh="当前密码错误")
    new_hash = await auth.passwords.hash(body.new_password)
    async with auth.db.session() as s:
        row = await s.get(User, user.id)
        if row is None:
            raise ApiError(401, "unauthorized", "account gone")
        row.password_hash = new_hash
        row.updated_at = auth.now()
        keep = [user.credential_id] if user.via is Via.SESSION else []
        await delete_sessions_of(s, user.id, keep=keep)
        audit(s, at=auth.now(), actor=user.username, action="password_change")
