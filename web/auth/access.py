"""Scope filters for routers: which schools, cameras and rows a caller may see.

Anything outside the caller's scope is reported as 404, exactly like an id that does not
exist, so ids of other schools cannot be probed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute

from hub.config import HubConfig
from web.auth.deps import CurrentUser, LiveWatcher
from web.auth.roles import Scope, ScopeKind, can_see_school
from web.auth.service import AuthUser
from web.deps import HubDep
from web.errors import ApiError

__all__ = [
    "VisibleCameraId",
    "WatchableCameraId",
    "camera_visible",
    "ensure_camera_visible",
    "ensure_school_visible",
    "not_found",
    "scope_clause",
    "visible_camera",
    "visible_camera_ids",
    "visible_school_ids",
]


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found", zh="未找到或无权查看")


def _scope(who: AuthUser | Scope) -> Scope:
    return who if isinstance(who, Scope) else who.scope


def visible_school_ids(who: AuthUser | Scope, config: HubConfig) -> frozenset[str]:
    scope = _scope(who)
    return frozenset(s.id for s in config.schools if can_see_school(scope, s.id, s.town))


def visible_camera_ids(who: AuthUser | Scope, config: HubConfig) -> frozenset[str]:
    scope = _scope(who)
    return frozenset(c.id for s, c in config.iter_cameras() if can_see_school(scope, s.id, s.town))


def camera_visible(who: AuthUser | Scope, camera_id: str, config: HubConfig) -> bool:
    try:
        school = config.school_of(camera_id)
    except KeyError:
        return False
    return can_see_school(_scope(who), school.id, school.town)


def ensure_camera_visible(who: AuthUser | Scope, camera_id: str, config: HubConfig) -> None:
    """404 unless the camera exists and lies in the caller's scope."""
    if not camera_visible(who, camera_id, config):
        raise not_found("camera")


def ensure_school_visible(who: AuthUser | Scope, school_id: str, config: HubConfig) -> None:
    try:
        school = config.school(school_id)
    except KeyError:
        raise not_found("school") from None
    if not can_see_school(_scope(who), school.id, school.town):
        raise not_found("school")


def scope_clause(
    who: AuthUser | Scope,
    *,
    school_column: InstrumentedAttribute[str | None] | InstrumentedAttribute[str],
    town_column: InstrumentedAttribute[str | None] | None = None,
    config: HubConfig | None = None,
) -> ColumnElement[bool]:
    """A WHERE clause keeping rows in scope, for tables that carry a school (and town) id.

    Without a town column (or for tables whose town may be stale), pass the config and a
    town scope becomes `school IN (its schools)`. Rows with no school match the district only.
    """
    scope = _scope(who)
    if scope.kind is ScopeKind.DISTRICT:
        return true()
    if scope.kind is ScopeKind.SCHOOL:
        return school_column == scope.id
    if town_column is not None:
        return town_column == scope.id
    if config is None:
        raise ValueError("a town scope needs town_column or config")
    return school_column.in_(sorted(visible_school_ids(scope, config)))


async def visible_camera(camera_id: str, user: CurrentUser, hub: HubDep) -> str:
    """Dependency for routes with a {camera_id} path parameter: the id, or 404."""
    ensure_camera_visible(user, camera_id, hub.config)
    return camera_id


VisibleCameraId = Annotated[str, Depends(visible_camera)]


async def watchable_camera(camera_id: str, watcher: LiveWatcher, hub: HubDep) -> str:
    """Like `visible_camera`, for live-view routes, which supervisor links may call too."""
    ensure_camera_visible(watcher.scope, camera_id, hub.config)
    return camera_id


WatchableCameraId = Annotated[str, Depends(watchable_camera)]
