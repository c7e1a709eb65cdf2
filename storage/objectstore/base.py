"""The object store seam: recordings, clips and snapshots live behind this interface."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
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


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int


class ObjectStore(ABC):
    """Async object store; implementations keep blocking I/O off the event loop."""

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
        """Every key under `prefix`."""
