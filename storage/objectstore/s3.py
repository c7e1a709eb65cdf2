"""An S3-compatible object store (MinIO on the education network) on the minio SDK.

The SDK blocks, so every call runs in a worker thread. Its errors are translated here, at the
boundary, into ObjectStoreError: network trouble, timeouts and 5xx are retriable; refused
credentials, missing buckets and other 4xx answers are not. Messages name the endpoint and the
bucket, never the credentials.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import os
import zlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final, TypeVar

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.helpers import MIN_PART_SIZE
from minio.lifecycleconfig import Expiration, LifecycleConfig, NoncurrentVersionExpiration, Rule
from urllib3.exceptions import HTTPError, MaxRetryError, SSLError

from storage.objectstore.base import (
    ObjectInfo,
    ObjectStore,
    ObjectStoreError,
    check_key,
    check_lifecycle,
    check_prefix,
    check_range,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_CONNECT_TIMEOUT_S: Final = 3.0  # a dead S3 must fail fast; the archive retries with backoff
_READ_TIMEOUT_S: Final = 30.0  # one 5 MiB part over a slow school uplink
# Few quick retries for blips; read timeouts are not retried, or a hung S3 would cost 3 x 30 s.
_RETRY: Final = urllib3.Retry(
    total=2,
    connect=2,
    read=0,
    status=2,
    backoff_factor=0.2,
    status_forcelist=(500, 502, 503, 504),
    raise_on_status=False,  # let the SDK parse the last answer into an S3Error with a code
)
_LIST_BATCH: Final = 1000  # keys fetched per worker-thread hop
_MAX_PRESIGN_S: Final = 7 * 24 * 3600  # SigV4 limit

# 4xx codes that a later attempt can get past; every other 4xx is a configuration problem.
_RETRIABLE_CODES: Final = frozenset(
    {"RequestTimeout", "SlowDown", "TooManyRequests", "OperationAborted", "NoSuchUpload"}
)
_UNSUPPORTED_CODES: Final = frozenset({"NotImplemented", "MethodNotAllowed"})


def _status(exc: MinioException) -> int:
    if isinstance(exc, S3Error):
        return exc.response.status
    if isinstance(exc, ServerError):
        return exc.status_code
    if isinstance(exc, InvalidResponseError):
        return int(getattr(exc, "_code", 0) or 0)  # the SDK keeps the status private here
    return 0


def translate_error(exc: Exception, *, action: str) -> ObjectStoreError:
    """Classify an SDK or urllib3 failure; `action` says what was tried and where."""
    if isinstance(exc, S3Error):
        status = exc.response.status
        retriable = status >= 500 or exc.code in _RETRIABLE_CODES
        return ObjectStoreError(f"{action}: {exc.code} ({exc.message})", retriable=retriable)
    if isinstance(exc, MinioException):
        status = _status(exc)
        return ObjectStoreError(f"{action}: HTTP {status} from the store", retriable=status >= 500)
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        return translate_error(exc.reason, action=action)
    if isinstance(exc, SSLError):  # a certificate problem does not heal by waiting
        return ObjectStoreError(f"{action}: TLS failed: {exc}", retriable=False)
    # Refused or reset connections, timeouts, broken responses, local file trouble.
    return ObjectStoreError(f"{action}: {type(exc).__name__}: {exc}")


def _take(items: Iterator[str]) -> list[str]:
    return list(itertools.islice(items, _LIST_BATCH))


def _crc32_header(path: Path) -> str:
    crc = 0
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            crc = zlib.crc32(chunk, crc)
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


@dataclass(frozen=True, slots=True)
class _BucketFeatures:
    versioned: bool  # deletes must remove every version to free the space
    object_lock: bool  # legal holds are possible


class S3ObjectStore(ObjectStore):
    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        secure: bool = True,
        region: str | None = None,
        connect_timeout_s: float = _CONNECT_TIMEOUT_S,
        read_timeout_s: float = _READ_TIMEOUT_S,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self._secrets = tuple(s for s in (access_key, secret_key) if len(s) >= 4)
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s),
            retries=_RETRY,
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self._region = region
        self._features: _BucketFeatures | None = None

    def describe(self) -> str:
        return f"s3://{self.bucket}@{self.endpoint}"

    async def _call(self, action: str, fn: Callable[..., T], /, *args: object) -> T:
        """Run a blocking SDK call in a thread; translate its failures."""
        try:
            return await asyncio.to_thread(fn, *args)
        except (MinioException, HTTPError, OSError) as exc:
            error = translate_error(exc, action=f"{action} on {self.describe()}")
            message = str(error)
            for secret in self._secrets:  # servers may echo what they were sent
                message = message.replace(secret, "***")
            raise ObjectStoreError(message, retriable=error.retriable) from exc

    # --- the bucket ---------------------------------------------------------------------

    async def start(self) -> None:
        await self._call("create bucket", self._ensure_bucket)
        self._features = await self._call("probe bucket", self._probe)
        log.debug("%s ready: %s", self.describe(), self._features)

    def _ensure_bucket(self) -> None:
        if self._client.bucket_exists(self.bucket):
            return
        try:
            self._client.make_bucket(self.bucket, location=self._region)
        except S3Error as exc:
            if exc.code != "BucketAlreadyOwnedByYou":  # another hub created it meanwhile
                raise

    def _probe(self) -> _BucketFeatures:
        # A narrowly scoped key may not read bucket settings: then assume the plain features.
        try:
            versioned = self._client.get_bucket_versioning(self.bucket).status in (
                "Enabled",
                "Suspended",
            )
        except S3Error as exc:
            if exc.code != "AccessDenied" and exc.code not in _UNSUPPORTED_CODES:
                raise
            versioned = False
        try:
            self._client.get_object_lock_config(self.bucket)
            object_lock = True
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                raise
            object_lock = False
        return _BucketFeatures(versioned=versioned, object_lock=object_lock)

    async def _bucket_features(self) -> _BucketFeatures:
        if self._features is None:
            self._features = await self._call("probe bucket", self._probe)
        return self._features

    # --- objects ------------------------------------------------------------------------

    async def put_file(self, key: str, path: Path, *, content_type: str) -> None:
        check_key(key)
        await self._call(f"upload {key}", self._put_file, key, Path(path), content_type)

    def _put_file(self, key: str, path: Path, content_type: str) -> None:
        headers: dict[str, str | list[str] | tuple[str]] = {}
        if path.stat().st_size <= MIN_PART_SIZE:  # one PUT; bigger files go multipart
            # The store verifies it, and object-lock buckets refuse plain-http PUTs without it
            # (the SDK adds Content-MD5 only over https).
            headers = {
                "x-amz-sdk-checksum-algorithm": "CRC32",
                "x-amz-checksum-crc32": _crc32_header(path),
            }
        self._client.fput_object(
            self.bucket, key, str(path), content_type=content_type, metadata=headers
        )

    async def get_file(self, key: str, dest: Path) -> None:
        check_key(key)
        await self._call(f"download {key}", self._client.fget_object, self.bucket, key, str(dest))

    async def stat(self, key: str) -> ObjectInfo | None:
        check_key(key)
        return await self._call(f"stat {key}", self._stat, key)

    def _stat(self, key: str) -> ObjectInfo | None:
        try:
            info = self._client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code != "NoSuchKey":
                raise
            # HEAD answers carry no body: a vanished bucket looks like a missing object.
            if not self._client.bucket_exists(self.bucket):
                raise exc.copy("NoSuchBucket", "Bucket does not exist") from None
            return None
        return ObjectInfo(key=key, size=int(info.size or 0))

    async def read_bytes(self, key: str, *, start: int = 0, length: int | None = None) -> bytes:
        check_key(key)
        check_range(start, length)
        return await self._call(f"read {key}", self._read_bytes, key, start, length)

    def _read_bytes(self, key: str, start: int, length: int | None) -> bytes:
        if length == 0:
            self._client.stat_object(self.bucket, key)  # still fail for a missing object
            return b""
        try:
            response = self._client.get_object(self.bucket, key, offset=start, length=length or 0)
        except S3Error as exc:
            if exc.code == "InvalidRange":  # starts at or past the end
                return b""
            raise
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    async def delete(self, key: str) -> None:
        check_key(key)
        features = await self._bucket_features()
        await self._call(f"delete {key}", self._delete, key, features.versioned)

    def _delete(self, key: str, versioned: bool) -> None:
        if not versioned:
            self._client.remove_object(self.bucket, key)
            return
        # A versioned bucket keeps a "deleted" object's data: remove every version. A version
        # under legal hold or retention refuses (AccessDenied), so held evidence stays.
        for obj in self._client.list_objects(self.bucket, prefix=key, include_version=True):
            if obj.object_name != key:
                continue
            try:
                self._client.remove_object(self.bucket, key, version_id=obj.version_id)
            except S3Error as exc:
                if exc.code == "AccessDenied":
                    hint = f"version {obj.version_id} is held (legal hold or retention)"
                    raise exc.copy("AccessDenied", f"{hint}, or: {exc.message}") from None
                raise

    async def list_keys(self, prefix: str = "") -> AsyncIterator[str]:
        check_prefix(prefix)
        pages: Iterator[str] = (
            o.object_name or ""
            for o in self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
        )
        while batch := await self._call(f"list {prefix or '/'}", _take, pages):
            for key in batch:
                yield key

    # --- capabilities -------------------------------------------------------------------

    async def presigned_get_url(self, key: str, *, expires_s: int) -> str | None:
        check_key(key)
        if not 1 <= expires_s <= _MAX_PRESIGN_S:
            raise ValueError(f"expires_s must be 1..{_MAX_PRESIGN_S}, not {expires_s}")
        # Signing is local, but the SDK may look the bucket's region up first.
        return await self._call(
            f"presign {key}",
            self._client.presigned_get_object,
            self.bucket,
            key,
            timedelta(seconds=expires_s),
        )

    async def set_legal_hold(self, key: str, on: bool) -> bool:
        check_key(key)
        if not (await self._bucket_features()).object_lock:
            return False
        client = self._client
        hold = client.enable_object_legal_hold if on else client.disable_object_legal_hold
        await self._call(f"legal hold {key}", hold, self.bucket, key)
        return True

    async def apply_lifecycle(self, rules: Mapping[str, int]) -> bool:
        """Replace the bucket's lifecycle with one expiry rule per prefix (the hub owns it)."""
        check_lifecycle(rules)
        try:
            await self._call("set lifecycle", self._set_lifecycle, dict(rules))
        except ObjectStoreError as exc:
            cause = exc.__cause__
            if isinstance(cause, S3Error) and cause.code in _UNSUPPORTED_CODES:
                return False
            raise
        return True

    def _set_lifecycle(self, rules: dict[str, int]) -> None:
        if not rules:
            self._client.delete_bucket_lifecycle(self.bucket)
            return
        config = LifecycleConfig(
            [
                Rule(
                    ENABLED,
                    rule_filter=Filter(prefix=prefix),
                    rule_id=f"bkhub-expire-{n}",
                    expiration=Expiration(days=days),
                    # Overwritten versions in a versioned bucket go the same way.
                    noncurrent_version_expiration=NoncurrentVersionExpiration(days),
                )
                for n, (prefix, days) in enumerate(sorted(rules.items()))
            ]
        )
        self._client.set_bucket_lifecycle(self.bucket, config)

    async def open_local(self, key: str) -> Path | None:
        check_key(key)
        return None
