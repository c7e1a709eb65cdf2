"""Keyset pagination for list routes: `limit` and an opaque `cursor`, answered as a Page."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Final, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from web.errors import ApiError

__all__ = [
    "Cursor",
    "Limit",
    "Page",
    "decode_cursor",
    "decode_time_cursor",
    "encode_cursor",
    "make_page",
]

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
Cursor = Annotated[
    str | None,
    Query(max_length=400, description="`next_cursor` of the previous page; omit for the first."),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


def encode_cursor(*key: Any) -> str:
    """An opaque cursor for the sort key of the last item on a page."""
    raw = json.dumps(list(key), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> tuple[Any, ...]:
    """The sort key back, checked against `types`; 422 for anything a client made up."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad_cursor() from None
    if not isinstance(values, list) or len(values) != len(types):
        raise _bad_cursor()
    if not all(_fits(v, t) for v, t in zip(values, types, strict=True)):
        raise _bad_cursor()
    return tuple(values)


def decode_time_cursor(cursor: str) -> tuple[datetime, str]:
    """A (aware time, id) sort key, as lists newest first use; 422 otherwise."""
    at_text, last_id = decode_cursor(cursor, str, str)
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError:
        raise _bad_cursor() from None
    if at.tzinfo is None:
        raise _bad_cursor()
    return at, last_id


def _fits(value: Any, kind: type) -> bool:
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63  # a BIGINT; larger ones make PostgreSQL fail
    return not (isinstance(value, str) and "\x00" in value)  # PostgreSQL rejects NUL


def _bad_cursor() -> ApiError:
    return ApiError(422, "invalid_cursor", "invalid cursor", zh="分页参数无效")


def make_page(
    rows: Sequence[R], limit: int, view: Callable[[R], T], key: Callable[[R], tuple[Any, ...]]
) -> Page[T]:
    """A page from up to `limit + 1` rows (query with `.limit(limit + 1)`): the extra row
    only tells that there is a next page, so the last page never has a cursor."""
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(*key(rows[-1])) if more else None
    return Page(items=[view(r) for r in rows], next_cursor=cursor)
