"""What checks say and what the monitor reports: findings, problems, changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from hub.config.health import CheckName

__all__ = [
    "CAMERA_CHECKS",
    "DOWN_CHECKS",
    "HUB_CHECKS",
    "Change",
    "ChangeKind",
    "Finding",
    "Problem",
]

HUB_CHECKS = frozenset({CheckName.SPOOL, CheckName.OBJECT_STORE, CheckName.DETECTOR})
CAMERA_CHECKS = tuple(c for c in CheckName if c not in HUB_CHECKS)
# Problems that make a camera useless for supervision: these count against its uptime.
DOWN_CHECKS = frozenset(
    {
        CheckName.OFFLINE,
        CheckName.FROZEN,
        CheckName.BLACK,
        CheckName.OVEREXPOSED,
        CheckName.BLURRED,
        CheckName.COVERED,
        CheckName.MOVED,
    }
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One evaluation of one check. `bad` None: cannot tell now (no data, or explained)."""

    check: CheckName
    bad: bool | None
    reason: str = ""  # a stable code, e.g. "auth_failed", "view_shifted"
    detail: str = ""  # for people, with the numbers


class ChangeKind(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"
    REASON = "reason"  # still a problem, for another reason (e.g. stream_ended -> auth_failed)


@dataclass(frozen=True, slots=True)
class Problem:
    """An open health problem of a camera (or of the hub: camera_id None)."""

    camera_id: str | None
    check: CheckName
    reason: str
    detail: str
    since: datetime


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    problem: Problem
    at: datetime
