"""Object stores: the local directory (embedded default) and S3-compatible stores (MinIO)."""

from __future__ import annotations

from pathlib import Path

from hub.config import LocalStoreConfig, S3StoreConfig
from storage.objectstore.base import ObjectInfo, ObjectStore, ObjectStoreError, check_key
from storage.objectstore.local import LocalObjectStore
from storage.objectstore.s3 import S3ObjectStore

__all__ = [
    "LocalObjectStore",
    "ObjectInfo",
    "ObjectStore",
    "ObjectStoreError",
    "S3ObjectStore",
    "build_object_store",
    "check_key",
]


def build_object_store(config: LocalStoreConfig | S3StoreConfig) -> ObjectStore:
    """The store a config section describes; nothing is contacted until `start()`."""
    if isinstance(config, S3StoreConfig):
        return S3ObjectStore(
            endpoint=config.endpoint,
            bucket=config.bucket,
            access_key=config.access_key.get_secret_value(),
            secret_key=config.secret_key.get_secret_value(),
            secure=config.secure,
            region=config.region,
        )
    return LocalObjectStore(Path(config.root))
