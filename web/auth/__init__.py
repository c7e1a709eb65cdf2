"""Accounts, sessions and scopes for the web API.

Routers use the dependencies and scope helpers exported here:

    from web.auth import CurrentUser, VisibleCameraId, ensure_camera_visible, scope_clause

    @router.post("/cameras/{camera_id}/offer")
    async def offer(camera_id: VisibleCameraId, user: CurrentUser, ...): ...

`CurrentUser` answers 401 without valid credentials and 403 for a cookie-session change
without the X-CSRF-Token header; the scope helpers answer 404 for anything outside the
caller's scope, so ids cannot be probed.
"""

from web.auth.access import (
    VisibleCameraId,
    WatchableCameraId,
    camera_visible,
    ensure_camera_visible,
    ensure_school_visible,
    not_found,
    scope_clause,
    visible_camera,
    visible_camera_ids,
    visible_school_ids,
)
from web.auth.deps import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    AdminUser,
    AuthDep,
    CurrentUser,
    LiveWatcher,
    SupervisorLinkDep,
    Watcher,
    current_user,
    require_role,
)
from web.auth.links import LINK_MAX_DAYS, LINK_PREFIX, LinkPrincipal
from web.auth.roles import (
    ADMIN_ROLES,
    Role,
    Scope,
    ScopeKind,
    can_manage,
    can_see_school,
    can_see_town,
    scope_contains,
)
from web.auth.service import Auth, AuthUser, Via
from web.auth.store import audit

__all__ = [
    "ADMIN_ROLES",
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "LINK_MAX_DAYS",
    "LINK_PREFIX",
    "SESSION_COOKIE",
    "AdminUser",
    "Auth",
    "AuthDep",
    "AuthUser",
    "CurrentUser",
    "LinkPrincipal",
    "LiveWatcher",
    "Role",
    "Scope",
    "ScopeKind",
    "SupervisorLinkDep",
    "Via",
    "VisibleCameraId",
    "WatchableCameraId",
    "Watcher",
    "audit",
    "camera_visible",
    "can_manage",
    "can_see_school",
    "can_see_town",
    "current_user",
    "ensure_camera_visible",
    "ensure_school_visible",
    "not_found",
    "require_role",
    "scope_clause",
    "scope_contains",
    "visible_camera",
    "visible_camera_ids",
    "visible_school_ids",
]
