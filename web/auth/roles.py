"""Roles and scopes, as pure functions: who may see which part of the district tree.

A scope is one node of the tree: the whole district, one town (its schools, not the
bureau-direct ones) or one school. Each role lives at one kind of node, e.g. a town staff
member always has a town scope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "ADMIN_ROLES",
    "ROLE_SCOPE",
    "SCOPE_PATTERN",
    "Role",
    "Scope",
    "ScopeKind",
    "can_manage",
    "can_see_school",
    "can_see_town",
    "scope_contains",
]


class Role(StrEnum):
    DISTRICT_ADMIN = "district_admin"  # 教育局管理员: everything, all accounts
    DISTRICT_STAFF = "district_staff"  # 教育局工作人员: sees everything, manages nobody
    TOWN_STAFF = "town_staff"  # 镇中心学校: its town's schools and their accounts
    SCHOOL_PRINCIPAL = "school_principal"  # 校长: the school and its canteen managers
    CANTEEN_MANAGER = "canteen_manager"  # 食堂负责人: the school


class ScopeKind(StrEnum):
    DISTRICT = "district"
    TOWN = "town"
    SCHOOL = "school"


ROLE_SCOPE: Final[dict[Role, ScopeKind]] = {
    Role.DISTRICT_ADMIN: ScopeKind.DISTRICT,
    Role.DISTRICT_STAFF: ScopeKind.DISTRICT,
    Role.TOWN_STAFF: ScopeKind.TOWN,
    Role.SCHOOL_PRINCIPAL: ScopeKind.SCHOOL,
    Role.CANTEEN_MANAGER: ScopeKind.SCHOOL,
}

# Which roles each role may create, edit and delete (inside its own scope). Nobody can hand
# out a role above their own, so a scoped admin cannot escalate.
_MANAGES: Final[dict[Role, frozenset[Role]]] = {
    Role.DISTRICT_ADMIN: frozenset(Role),
    Role.TOWN_STAFF: frozenset({Role.SCHOOL_PRINCIPAL, Role.CANTEEN_MANAGER}),
    Role.SCHOOL_PRINCIPAL: frozenset({Role.CANTEEN_MANAGER}),
}
ADMIN_ROLES: Final = frozenset(_MANAGES)  # roles that manage accounts and read the audit log

_SLUG = r"[a-z0-9][a-z0-9_-]{0,62}"
SCOPE_PATTERN: Final = rf"^(district|town:{_SLUG}|school:{_SLUG})$"
_SCOPE_RE = re.compile(SCOPE_PATTERN)


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    id: str | None = None  # None for the district

    @classmethod
    def parse(cls, text: str) -> Scope:
        """'district', 'town:<id>' or 'school:<id>'; ValueError otherwise."""
        if not _SCOPE_RE.match(text):
            raise ValueError(f"invalid scope {text!r}: use district, town:<id> or school:<id>")
        kind, _, node = text.partition(":")
        return cls(ScopeKind(kind), node or None)

    @classmethod
    def district(cls) -> Scope:
        return cls(ScopeKind.DISTRICT)

    @classmethod
    def town(cls, town_id: str) -> Scope:
        return cls(ScopeKind.TOWN, town_id)

    @classmethod
    def school(cls, school_id: str) -> Scope:
        return cls(ScopeKind.SCHOOL, school_id)

    def __str__(self) -> str:
        return self.kind.value if self.id is None else f"{self.kind.value}:{self.id}"


def can_see_school(scope: Scope, school_id: str, town_of_school: str | None) -> bool:
    """Whether `scope` covers the school; `town_of_school` is None for bureau-direct ones."""
    if scope.kind is ScopeKind.DISTRICT:
        return True
    if scope.kind is ScopeKind.TOWN:
        return town_of_school is not None and town_of_school == scope.id
    return school_id == scope.id


def can_see_town(scope: Scope, town_id: str) -> bool:
    """Whether `scope` covers the whole town (a school scope never does)."""
    return scope.kind is ScopeKind.DISTRICT or (
        scope.kind is ScopeKind.TOWN and scope.id == town_id
    )


def scope_contains(outer: Scope, inner: Scope, town_of_school: str | None = None) -> bool:
    """Whether `inner` lies within `outer`; pass the town of `inner`'s school if it has one."""
    if inner.kind is ScopeKind.DISTRICT:
        return outer.kind is ScopeKind.DISTRICT
    if inner.kind is ScopeKind.TOWN:
        return can_see_town(outer, inner.id or "")
    return can_see_school(outer, inner.id or "", town_of_school)


def can_manage(
    actor_role: Role,
    actor_scope: Scope,
    target_role: Role,
    target_scope: Scope,
    town_of_target_school: str | None = None,
) -> bool:
    """Whether an account with (actor_role, actor_scope) may hold power over one with
    (target_role, target_scope): create it, change it or delete it."""
    return (
        target_role in _MANAGES.get(actor_role, frozenset())
        and ROLE_SCOPE[target_role] is target_scope.kind
        and scope_contains(actor_scope, target_scope, town_of_target_school)
    )
