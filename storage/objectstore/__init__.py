"""Object stores: the local directory (embedded default); MinIO/S3 joins behind the same seam."""

from storage.objectstore.base import ObjectInfo, ObjectStore, ObjectStoreError, check_key
from storage.objectstore.local import LocalObjectStore

__all__ = ["LocalObjectStore", "ObjectInfo", "ObjectStore", "ObjectStoreError", "check_key"]
