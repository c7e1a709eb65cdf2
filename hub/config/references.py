"""Cross-references in a district: unique ids, and every id that names something exists.

Works on validated models and on raw YAML data alike, so the loader can still report
reference mistakes in a file whose fields have other errors.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ._locs import Loc, format_loc
from .alerts import find_alert_reference_problems
from .health import find_health_reference_problems

__all__ = ["find_reference_problems"]


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _items(obj: Any, key: str) -> Iterator[tuple[int, Any]]:
    seq = _get(obj, key)
    if isinstance(seq, list | tuple):
        yield from enumerate(seq)


def _keys(obj: Any) -> list[Any]:
    return list(obj) if isinstance(obj, Mapping) else []


class _Ids:
    """First position of each id of one kind; reports later duplicates naming both."""

    def __init__(self, kind: str, problems: list[tuple[Loc, str]]) -> None:
        self._kind = kind
        self._seen: dict[str, Loc] = {}
        self._problems = problems

    def add(self, item: Any, loc: Loc) -> None:
        ident = _get(item, "id")
        if not isinstance(ident, str):
            return
        first = self._seen.setdefault(ident, loc)
        if first != loc:
            self._problems.append(
                ((*loc, "id"), f"duplicate {self._kind} id {ident!r} (also at {format_loc(first)})")
            )

    def __contains__(self, ident: object) -> bool:
        return ident in self._seen


def find_reference_problems(config: Any) -> list[tuple[Loc, str]]:
    """Return ``(location, message)`` for each broken id reference in a district config."""
    problems: list[tuple[Loc, str]] = []
    towns, schools, cameras = (_Ids(k, problems) for k in ("town", "school", "camera"))
    for ti, town in _items(config, "towns"):
        towns.add(town, ("towns", ti))
    for si, school in _items(config, "schools"):
        school_loc: Loc = ("schools", si)
        schools.add(school, school_loc)
        town = _get(school, "town")
        if isinstance(town, str) and town not in towns:
            problems.append(((*school_loc, "town"), f"unknown town {town!r}"))
        kitchens = _Ids("kitchen", problems)
        for ki, kitchen in _items(school, "kitchens"):
            kitchens.add(kitchen, (*school_loc, "kitchens", ki))
        for ci, camera in _items(school, "cameras"):
            camera_loc: Loc = (*school_loc, "cameras", ci)
            cameras.add(camera, camera_loc)
            kitchen = _get(camera, "kitchen")
            if isinstance(kitchen, str) and kitchen not in kitchens:
                problems.append(
                    ((*camera_loc, "kitchen"), f"unknown kitchen {kitchen!r} in this school")
                )
    for key in _keys(_get(_get(config, "retention"), "school_overrides")):
        if key not in schools:
            problems.append((("retention", "school_overrides", key), f"unknown school id {key!r}"))
    for key in _keys(_get(_get(config, "simulator"), "clips")):
        if key not in cameras:
            problems.append((("simulator", "clips", key), f"unknown camera id {key!r}"))
    problems += find_alert_reference_problems(config)  # recipients' schools and towns
    problems += find_health_reference_problems(config)  # kitchen hours' schools and kitchens
    return problems
