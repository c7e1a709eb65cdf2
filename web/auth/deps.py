"""FastAPI dependencies: who is calling, with which role, and CSRF on every change.

Browser sessions travel in an HttpOnly cookie, which browsers attach to cross-site requests
too; so every POST/PUT/PATCH/DELETE made with a session must repeat the session's CSRF
token in the X-CSRF-Token header, which another site cannot read or set. Bearer tokens are
never attached by browsers and need no CSRF token.

Special supervisor links (web.auth.links) are not users: `current_user` refuses them, and
only routes that ask for a `LiveWatcher` (the live views) or a `SupervisorLinkDep` take them.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from web.auth.links import (
    LINK_PREFIX,
    LinkPrincipal,
    LinkRefusal,
    authenticate_link,
    link_owner,
)
from web.auth.roles import ADMIN_ROLES, Role, Scope
from web.auth.service import Auth, AuthUser
from web.errors import ApiError

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "AdminUser",
    "AuthDep",
    "CurrentUser",
    "LiveWatcher",
    "SupervisorLinkDep",
    "Watcher",
    "current_user",
    "get_auth",
    "link_refused",
    "live_watcher",
    "require_role",
    "supervisor_link",
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


_LINK_REFUSED: Final = {
    LinkRefusal.INVALID: ("unknown supervisor link", "链接无效"),
    LinkRefusal.EXPIRED: ("this supervisor link has expired", "链接已过期"),
    LinkRefusal.REVOKED: ("this supervisor link has been revoked", "链接已被撤销"),
}


def link_refused(why: LinkRefusal) -> ApiError:
    """The 401 for a link that no longer works; its code tells the watch page why."""
    message, zh = _LINK_REFUSED[why]
    return ApiError(401, why.value, message, zh=zh, headers={"WWW-Authenticate": "Bearer"})


async def _link(auth: Auth, secret: str) -> LinkPrincipal:
    """The link's holder; 401 with why (invalid, expired, revoked) otherwise."""
    found = await authenticate_link(auth.db, secret, auth.now())
    if not isinstance(found, LinkPrincipal):
        raise link_refused(found)
    return found


def _link_secret(bearer: HTTPAuthorizationCredentials | None) -> str | None:
    """The bearer credential if it is a supervisor link's (not an API token's)."""
    if bearer is None or not bearer.credentials.startswith(LINK_PREFIX):
        return None
    return bearer.credentials


async def current_user(
    request: Request,
    auth: AuthDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_token: Annotated[str | None, Depends(_cookie)],
) -> AuthUser:
    """The caller; 401 without valid credentials, 403 for a session change without CSRF, and
    403 for a special supervisor link, which may only watch live views."""
    if (secret := _link_secret(bearer)) is not None:
        await _link(auth, secret)
        raise ApiError(
            403,
            "supervisor_link",
            "a supervisor link may only watch the school's live views",
            zh="特别监督员链接只能观看实时画面",
        )
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


@dataclass(frozen=True, slots=True)
class Watcher:
    """Whoever opens a live view: a user, or the holder of a supervisor link."""

    owner: str  # who alone may close its sessions: the user's id, or "link:<id>"
    actor: str  # the audit log's name for them
    scope: Scope
    link: LinkPrincipal | None = None


async def live_watcher(
    request: Request,
    auth: AuthDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_token: Annotated[str | None, Depends(_cookie)],
) -> Watcher:
    """For live-view routes only: a user (as `current_user` checks them) or a valid link."""
    if (secret := _link_secret(bearer)) is not None:
        link = await _link(auth, secret)
        return Watcher(owner=link_owner(link.id), actor=link.actor, scope=link.scope, link=link)
    user = await current_user(request, auth, bearer, session_token)
    return Watcher(owner=user.id, actor=user.username, scope=user.scope)


LiveWatcher = Annotated[Watcher, Depends(live_watcher)]


async def supervisor_link(
    auth: AuthDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    session_token: Annotated[str | None, Depends(_cookie)],
) -> LinkPrincipal:
    """For the watch page's own routes: the link's holder; 401 without credentials, 403 for
    any other kind of caller."""
    if bearer is None and not session_token:
        raise _unauthorized("open the supervisor link again", "请重新打开监督链接")
    if (secret := _link_secret(bearer)) is None:
        raise ApiError(403, "forbidden", "only for supervisor links", zh="仅限特别监督员链接")
    return await _link(auth, secret)


SupervisorLinkDep = Annotated[LinkPrincipal, Depends(supervisor_link)]


def require_role(*roles: Role) -> Callable[..., Awaitable[AuthUser]]:
    """A dependency: the caller, if their role is one of `roles`; 403 otherwise."""
    allowed = frozenset(roles)

    async def dependency(user: CurrentUser) -> AuthUser:
        if user.role not in allowed:
            raise ApiError(403, "forbidden", "your role may not do this", zh="当前角色无此权限")
        return user

    return dependency


AdminUser = Annotated[AuthUser, Depends(require_role(*ADMIN_ROLES))]
