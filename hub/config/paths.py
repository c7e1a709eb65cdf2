"""Resolve relative paths in a config against the folder of the file it came from.

Kept out of the models so they stay pure data: the loader calls this once after validation,
and tests that build a HubConfig in code can call it with any folder.
"""

from __future__ import annotations

from pathlib import Path

from .database import SQLITE_PREFIX
from .root import HubConfig
from .storage import LocalStoreConfig

__all__ = ["resolve_relative_paths"]


def resolve_relative_paths(config: HubConfig, base_dir: str | Path) -> HubConfig:
    """Return a copy whose file paths (spool, local store, SQLite file, model) are absolute.

    Relative paths are joined to ``base_dir`` (made absolute first); absolute ones are kept.
    """
    base = Path(base_dir).absolute()
    store = config.storage.object_store
    if isinstance(store, LocalStoreConfig):
        store = store.model_copy(update={"root": base / store.root})
    return config.model_copy(
        update={
            "recording": config.recording.model_copy(
                update={"spool_dir": base / config.recording.spool_dir}
            ),
            "storage": config.storage.model_copy(update={"object_store": store}),
            "database": config.database.model_copy(
                update={"url": _resolve_sqlite_url(config.database.url, base)}
            ),
            "detector": config.detector.model_copy(
                update={"model_path": base / config.detector.model_path}
            ),
        }
    )


def _resolve_sqlite_url(url: str, base: Path) -> str:
    # sqlite+aiosqlite:///rel.db is relative, sqlite+aiosqlite:////abs.db absolute,
    # and an empty path or :memory: is an in-memory database.
    if not url.startswith(SQLITE_PREFIX + "/"):
        return url
    rest = url[len(SQLITE_PREFIX) + 1 :]
    file, sep, query = rest.partition("?")
    if not file or file == ":memory:" or file.startswith("/"):
        return url
    return f"{SQLITE_PREFIX}/{(base / file).as_posix()}{sep}{query}"
