"""The object store seam: recordings, clips and snapshots live behind this interface."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# Readable, portable keys: recordings/<school>/<camera>/<date>/<hour>/<start>.mp4
_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+\-]*(/[A-Za-z0-9][A-Za-z0-9._+\-]*)*$")


class ObjectStoreError(Exception):
    """The store failed; `retriable` tells the uploader whether to try again later."""

    def __init__(self, message: str, *, retriable: bool = True) -> None:
        super().__init__(message)
        self.retriable = retriable


def check_key(key: str) -> str:
    """Reject keys that could escape a directory or are not portable across stores."""
    if len(key) > 512 or not _KEY_PATTERN.match(key) or ".." in key.split("/"):
        raise ValueError(f"invalid object key {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """Reject listing prefixes that no valid key can start with ("../", "/abs", ...)."""
    try:
        check_key(prefix + "x")  # the prefix plus any name character must be a valid key
    except ValueError:
        raise ValueError(f"invalid key prefix {prefix!r}") from None
    return prefix


def check_range(start: int, length: int | None) -> None:
    if start < 0 or (length is not None and length < 0):
        raise ValueError(f"invalid byte range start={start} length={length}")


def check_lifecycle(rules: Mapping[str, int]) -> None:
    for prefix, days in rules.items():
        check_prefix(prefix)
        if days < 1:
            raise ValueError(f"expiry for {prefix!r} must be at least 1 day, not {days}")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int


class ObjectStore(ABC):
    """Async object store; implementations keep blocking I/O off the event loop.

    Every method raises ValueError for an invalid key before touching the store, and
    ObjectStoreError when the store fails. The optional capabilities at the end (presigned
    URLs, legal hold, lifecycle, local files) answer None/False where a store has none.
    """

    @abstractmethod
    async def start(self) -> None:
        """Create the bucket or directory if missing."""

    @abstractmethod
    async def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        """Store a local file under `key`, replacing any object there (idempotent)."""

    @abstractmethod
    async def get_file(self, key: str, dest: Path) -> None:
        """Copy an object to a local file."""

    @abstractmethod
    async def stat(self, key: str) -> ObjectInfo | None:
        """The object's size, or None when there is no such object."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove an object; removing a missing one is not an error."""

    @abstractmethod
    def list_keys(self, prefix: str = "") -> AsyncIterator[str]:
        """Every key starting with `prefix`, sorted; end the prefix with "/" for one folder."""

    @abstractmethod
    async def read_bytes(self, key: str, *, start: int = 0, length: int | None = None) -> bytes:
        """Up to `length` bytes from offset `start` (all the rest if None); b"" past the end."""

    def describe(self) -> str:
        """Where the objects live, for logs and health, e.g. s3://bucket@host:port."""
        return type(self).__name__

    async def presigned_get_url(self, key: str, *, expires_s: int) -> str | None:
        """A URL a client can download the object from directly, or None if unsupported."""
        check_key(key)
        return None

    async def set_legal_hold(self, key: str, on: bool) -> bool:
        """Put or lift a legal hold in the store itself; False when the store cannot."""
        check_key(key)
        return False

    async def apply_lifecycle(self, rules: Mapping[str, int]) -> bool:
        """Let the store expire objects itself (key prefix -> days); False if unsupported."""
        check_lifecycle(rules)
        return False

    async def open_local(self, key: str) -> Path | None:
        """The object's local file, for serving HTTP ranges directly; None if the store has none."""
        check_key(key)
        return None
