"""Roles and scopes as pure functions, and the public surface of web.auth."""

from __future__ import annotations

import pytest

import web.auth
from web.auth import Role, Scope, ScopeKind, can_manage, can_see_school, can_see_town
from web.auth import scope_contains as contains

DISTRICT, TOWN_E, TOWN_W = Scope.district(), Scope.town("east"), Scope.town("west")
SCHOOL_E1 = Scope.school("e1")

# (scope, school, town of the school, visible); "d1" is bureau-direct (no town).
SCHOOL_CASES = [
    (DISTRICT, "e1", "east", True),
    (DISTRICT, "d1", None, True),
    (TOWN_E, "e1", "east", True),
    (TOWN_E, "w1", "west", False),
    (TOWN_E, "d1", None, False),
    (SCHOOL_E1, "e1", "east", True),
    (SCHOOL_E1, "e2", "east", False),
]


@pytest.mark.parametrize(("scope", "school", "town", "visible"), SCHOOL_CASES)
def test_can_see_school(scope: Scope, school: str, town: str | None, visible: bool) -> None:
    assert can_see_school(scope, school, town) is visible


def test_can_see_town_and_containment() -> None:
    assert can_see_town(DISTRICT, "east") and can_see_town(TOWN_E, "east")
    assert not can_see_town(TOWN_W, "east") and not can_see_town(SCHOOL_E1, "east")
    assert contains(DISTRICT, DISTRICT) and contains(DISTRICT, TOWN_E)
    assert contains(TOWN_E, SCHOOL_E1, "east") and not contains(TOWN_W, SCHOOL_E1, "east")
    assert not contains(TOWN_E, DISTRICT) and not contains(SCHOOL_E1, TOWN_E)


@pytest.mark.parametrize(
    ("actor", "actor_scope", "role", "scope", "town", "allowed"),
    [
        (Role.DISTRICT_ADMIN, DISTRICT, Role.DISTRICT_ADMIN, DISTRICT, None, True),
        (Role.DISTRICT_ADMIN, DISTRICT, Role.TOWN_STAFF, SCHOOL_E1, "east", False),  # wrong node
        (Role.DISTRICT_STAFF, DISTRICT, Role.CANTEEN_MANAGER, SCHOOL_E1, "east", False),
        (Role.TOWN_STAFF, TOWN_E, Role.SCHOOL_PRINCIPAL, SCHOOL_E1, "east", True),
        (Role.TOWN_STAFF, TOWN_E, Role.SCHOOL_PRINCIPAL, SCHOOL_E1, "west", False),
        (Role.TOWN_STAFF, TOWN_E, Role.TOWN_STAFF, TOWN_E, None, False),  # no peers
        (Role.SCHOOL_PRINCIPAL, SCHOOL_E1, Role.CANTEEN_MANAGER, SCHOOL_E1, "east", True),
        (Role.SCHOOL_PRINCIPAL, SCHOOL_E1, Role.SCHOOL_PRINCIPAL, SCHOOL_E1, "east", False),
        (Role.CANTEEN_MANAGER, SCHOOL_E1, Role.CANTEEN_MANAGER, SCHOOL_E1, "east", False),
    ],
)
def test_nobody_grants_beyond_their_power(
    actor: Role, actor_scope: Scope, role: Role, scope: Scope, town: str | None, allowed: bool
) -> None:
    assert can_manage(actor, actor_scope, role, scope, town) is allowed


def test_scope_text_round_trips_and_rejects_junk() -> None:
    for text in ("district", "town:east", "school:e1-x_2"):
        assert str(Scope.parse(text)) == text
    assert Scope.parse("school:e1") == Scope(ScopeKind.SCHOOL, "e1")
    for junk in (
        "",
        "school:",
        "town:East",
        "district:x",
        "school:e1:x",
        "campus:e1",
        "school:../x",
    ):
        with pytest.raises(ValueError, match="invalid scope"):
            Scope.parse(junk)


def test_public_api_is_pinned() -> None:
    assert sorted(web.auth.__all__) == sorted(
        [
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
    )
    for name in web.auth.__all__:
        assert getattr(web.auth, name) is not None
