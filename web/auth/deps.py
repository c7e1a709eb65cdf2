"""FastAPI dependencies: who is calling, with which role, and CSRF on every change.

Browser sessions travel in an HttpOnly cookie, which browsers attach to cross-site requests
too; so every POST/PUT/PATCH/DELETE made with a session must repeat the session's CSRF
token in the X-CSRF-Token header, which another site cannot read or set. Bearer tokens are
never attached by browsers and need no CSRF token.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from web.auth.roles import ADMIN_ROLES, Role
from web.auth.service import Auth, AuthUser
from web.errors import ApiError

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "AdminUser",
    "AuthDep",
    "CurrentUser",
    "current_user",
    "get_auth",
    "require_role",
]

SESSION_COOKIE: Final = "bkhub_session"
CSRF_COOKIE: Final = "bkhub_csrf"  # readable by the console's script, echoed in the header
CSRF_HEADER: Final = "X-CSRF-Token"
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared as security schemes so the OpenAPI spec documents both ways to authenticate.
_bearer = HTTPBearer(auto_error=False, description="API token: `Authorization: Bearer bkh_...`")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Browser session.")


def get_auth(request: Request) -> Auth:
    auth: Auth = request.state.auth
    return auth


AuthDep = Annotated[Auth, Depends(get_auth)]


def _unauthorized(message: str, zh: str) -> ApiError:
    return ApiError(401, "unauthorized", message, zh=zh, headers={"WWW-Authenticate": "Bearer"})


async def current_user(
    request: Request,
    auth: AuthDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_token: Annotated[str | None, Depends(_cookie)],
) -> AuthUser:
    """The caller; 401 without valid credentials, 403 for a session change without CSRF."""
    if bearer is not None:
        user = await auth.authenticate_token(bearer.credentials)
        if user is None:
            raise _unauthorized("invalid or expired API token", "API 令牌无效或已过期")
        return user
    if not session_token:
        raise _unauthorized("log in first", "请先登录")
    user = await auth.authenticate_session(session_token)
    if user is None:
        raise _unauthorized("session expired; log in again", "登录已过期，请重新登录")
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not (user.csrf_token and hmac.compare_digest(sent.encode(), user.csrf_token.encode())):
            raise ApiError(
                403, "csrf_failed", f"missing or wrong {CSRF_HEADER} header", zh="CSRF 校验失败"
            )
    return user


CurrentUser = Annotated[AuthUser, Depends(current_user)]


def require_role(*roles: Role) -> Callable[..., Awaitable[AuthUser]]:
    """A dependency: the caller, if their role is one of `roles`; 403 otherwise."""
    allowed = frozenset(roles)

    async def dependency(user: CurrentUser) -> AuthUser:
        if user.role not in allowed:
            raise ApiError(403, "forbidden", "your role may not do this", zh="当前角色无此权限")
        return user

    return dependency


AdminUser = Annotated[AuthUser, Depends(require_role(*ADMIN_ROLES))]
