"""One contract for every object store: a local directory, and S3 on a real moto server.

Capabilities a store lacks (presigned URLs, legal hold, lifecycle, local files) must answer
None/False rather than fail; the S3-only tests at the end cover object lock, outages and
refused credentials.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import urllib3
from minio import Minio
from minio.commonconfig import GOVERNANCE
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.objectlockconfig import DAYS, ObjectLockConfig
from pydantic import SecretStr
from urllib3.exceptions import NewConnectionError, ProtocolError, SSLError

import storage.objectstore as objectstore
from hub.config import LocalStoreConfig, S3StoreConfig
from storage.objectstore import (
    LocalObjectStore,
    ObjectStore,
    ObjectStoreError,
    S3ObjectStore,
    build_object_store,
)
from storage.objectstore.s3 import translate_error

if TYPE_CHECKING:
    from tests.s3server import Credentials, S3Server


BIG = 12 * 1024 * 1024  # > 5 MiB: the SDK uploads it in three parts
INVALID_KEYS = ["", "../x", "/abs/x", "a//b", "a/../b", "a/./b", ".hidden"]


def _bucket() -> str:
    return f"t-{uuid.uuid4().hex[:16]}"


def _raw(server: S3Server, creds: Credentials | None = None) -> Minio:
    creds = creds or server.credentials
    return Minio(server.endpoint, creds.access_key, creds.secret_key, secure=False)


def _s3_store(
    server: S3Server, bucket: str, creds: Credentials | None = None, *, read_timeout_s: float = 30
) -> S3ObjectStore:
    creds = creds or server.credentials
    return S3ObjectStore(
        endpoint=server.endpoint,
        bucket=bucket,
        access_key=creds.access_key,
        secret_key=creds.secret_key,
        secure=False,
        read_timeout_s=read_timeout_s,
    )


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    if request.param == "local":
        store: ObjectStore = LocalObjectStore(tmp_path / "objects")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        store = _s3_store(server, _bucket())
    await store.start()
    yield store


def _file(tmp_path: Path, data: bytes, name: str = "src.bin") -> Path:
    path = tmp_path / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


async def _keys(store: ObjectStore, prefix: str = "") -> list[str]:
    return [k async for k in store.list_keys(prefix)]


@contextmanager
def _within(seconds: float) -> Iterator[None]:
    began = time.monotonic()
    yield
    assert time.monotonic() - began < seconds, f"took longer than {seconds} s"


# --- the contract ---------------------------------------------------------------------------


async def test_start_is_idempotent(store: ObjectStore, tmp_path: Path) -> None:
    await store.start()
    await store.start()
    await store.put_file("a/b.bin", _file(tmp_path, b"x"), content_type="video/mp4")
    assert await _keys(store) == ["a/b.bin"]
    assert store.describe().startswith(("file:///", "s3://"))


async def test_round_trip_is_byte_exact(store: ObjectStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 400 + os.urandom(1000)
    key = "recordings/s1/c1/2026-11-28/08/080000.mp4"
    await store.put_file(key, _file(tmp_path, data), content_type="video/mp4")
    info = await store.stat(key)
    assert info is not None and (info.key, info.size) == (key, len(data))
    dest = tmp_path / "out" / "deep" / "copy.mp4"
    await store.get_file(key, dest)
    assert dest.read_bytes() == data
    assert await store.stat("recordings/s1/c1/missing.mp4") is None
    with pytest.raises(ObjectStoreError) as err:
        await store.get_file("recordings/s1/c1/missing.mp4", tmp_path / "nope")
    assert not err.value.retriable


async def test_overwrite_keeps_one_object(store: ObjectStore, tmp_path: Path) -> None:
    first, second = b"1" * 3000, b"22" * 700
    await store.put_file("k/seg.mp4", _file(tmp_path, first, "a"), content_type="video/mp4")
    for _ in range(2):
        await store.put_file("k/seg.mp4", _file(tmp_path, second, "b"), content_type="video/mp4")
    assert await _keys(store, "k/") == ["k/seg.mp4"]
    info = await store.stat("k/seg.mp4")
    assert info is not None and info.size == len(second)
    assert await store.read_bytes("k/seg.mp4") == second


async def test_big_file_round_trip(store: ObjectStore, s3_server: S3Server, tmp_path: Path) -> None:
    data = os.urandom(BIG)
    await store.put_file("big/x.mp4", _file(tmp_path, data), content_type="video/mp4")
    info = await store.stat("big/x.mp4")
    assert info is not None and info.size == BIG
    if isinstance(store, S3ObjectStore):  # a multipart ETag ends in -<parts>
        etag = _raw(s3_server).stat_object(store.bucket, "big/x.mp4").etag
        assert etag is not None and etag.endswith("-3")
    await store.get_file("big/x.mp4", tmp_path / "big.mp4")
    assert (tmp_path / "big.mp4").read_bytes() == data
    assert await store.read_bytes("big/x.mp4", start=BIG - 10) == data[-10:]


async def test_ranged_reads(store: ObjectStore, tmp_path: Path) -> None:
    data = os.urandom(1000)
    await store.put_file("r/x.bin", _file(tmp_path, data), content_type="video/mp4")
    assert await store.read_bytes("r/x.bin") == data
    assert await store.read_bytes("r/x.bin", start=10, length=20) == data[10:30]
    assert await store.read_bytes("r/x.bin", start=990, length=100) == data[990:]
    assert await store.read_bytes("r/x.bin", start=500) == data[500:]
    assert await store.read_bytes("r/x.bin", start=1000) == b""
    assert await store.read_bytes("r/x.bin", start=5, length=0) == b""
    with pytest.raises(ValueError):
        await store.read_bytes("r/x.bin", start=-1)
    with pytest.raises(ObjectStoreError) as err:
        await store.read_bytes("r/missing.bin", length=4)
    assert not err.value.retriable


async def test_list_keys_by_prefix(store: ObjectStore, tmp_path: Path) -> None:
    src = _file(tmp_path, b"data")
    keys = ["recordings/a/1.mp4", "recordings/a/x/2.mp4", "recordings/ab/3.mp4", "clips/a/4.mp4"]
    for key in keys:
        await store.put_file(key, src, content_type="video/mp4")
    assert await _keys(store, "recordings/a/") == ["recordings/a/1.mp4", "recordings/a/x/2.mp4"]
    assert await _keys(store, "recordings/ab/") == ["recordings/ab/3.mp4"]
    assert await _keys(store, "recordings/") == sorted(keys[:3])
    assert await _keys(store) == sorted(keys)
    # A prefix is a string prefix, as in S3: without the "/" it also matches the sibling.
    assert await _keys(store, "recordings/a") == sorted(keys[:3])
    assert await _keys(store, "recordings/a/1") == ["recordings/a/1.mp4"]
    assert await _keys(store, "nothing/") == []
    for bad in ["../", "/recordings/", "recordings//"]:
        with pytest.raises(ValueError):
            await _keys(store, bad)


async def test_delete_and_delete_missing(store: ObjectStore, tmp_path: Path) -> None:
    await store.put_file("d/x.mp4", _file(tmp_path, b"bye"), content_type="video/mp4")
    await store.put_file("d/x.mp4.keep", _file(tmp_path, b"stay"), content_type="video/mp4")
    await store.delete("d/x.mp4")
    assert await store.stat("d/x.mp4") is None
    assert await _keys(store, "d/") == ["d/x.mp4.keep"]
    await store.delete("d/x.mp4")
    await store.delete("never/was.mp4")


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_keys_are_rejected(store: ObjectStore, tmp_path: Path, key: str) -> None:
    src = _file(tmp_path, b"x")
    calls = [
        store.put_file(key, src, content_type="video/mp4"),
        store.get_file(key, tmp_path / "dest"),
        store.stat(key),
        store.delete(key),
        store.read_bytes(key),
        store.presigned_get_url(key, expires_s=60),
        store.set_legal_hold(key, True),
        store.open_local(key),
    ]
    for call in calls:
        with pytest.raises(ValueError):
            await call
    assert not (tmp_path / "dest").exists()


async def test_direct_download(store: ObjectStore, tmp_path: Path) -> None:
    """S3 hands out a presigned URL; the local store hands out its file instead."""
    data = os.urandom(5000)
    await store.put_file("v/clip.mp4", _file(tmp_path, data), content_type="video/mp4")
    url = await store.presigned_get_url("v/clip.mp4", expires_s=300)
    path = await store.open_local("v/clip.mp4")
    if isinstance(store, S3ObjectStore):
        assert path is None and url is not None
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(url)
        assert response.status_code == 200 and response.content == data
        async with httpx.AsyncClient(trust_env=False) as client:
            response = await client.get(url, headers={"Range": "bytes=100-199"})
        assert response.status_code == 206 and response.content == data[100:200]
        with pytest.raises(ValueError):
            await store.presigned_get_url("v/clip.mp4", expires_s=0)
    else:
        assert url is None and path is not None
        assert path.read_bytes() == data
        with pytest.raises(ObjectStoreError):
            await store.open_local("v/missing.mp4")


async def test_stores_without_object_lock_do_not_hold(store: ObjectStore, tmp_path: Path) -> None:
    await store.put_file("h/x.mp4", _file(tmp_path, b"evidence"), content_type="video/mp4")
    assert await store.set_legal_hold("h/x.mp4", True) is False
    await store.delete("h/x.mp4")  # the database flag is what protects it here
    assert await store.stat("h/x.mp4") is None


async def test_lifecycle(store: ObjectStore, s3_server: S3Server) -> None:
    rules = {"recordings/": 30, "clips/": 365}
    with pytest.raises(ValueError):
        await store.apply_lifecycle({"recordings/": 0})
    applied = await store.apply_lifecycle(rules)
    if not isinstance(store, S3ObjectStore):
        assert applied is False
        return
    assert applied is True
    config = _raw(s3_server).get_bucket_lifecycle(store.bucket)
    assert config is not None
    got = {}
    for rule in config.rules:
        assert rule.rule_filter is not None and rule.expiration is not None
        got[rule.rule_filter.prefix] = rule.expiration.days
    assert got == rules
    assert await store.apply_lifecycle({}) is True
    assert _raw(s3_server).get_bucket_lifecycle(store.bucket) is None


# --- S3 only: object lock -----------------------------------------------------------------


async def test_legal_hold_on_object_lock_bucket(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = _bucket()
    raw = _raw(s3_server)
    raw.make_bucket(bucket, object_lock=True)
    store = _s3_store(s3_server, bucket)
    await store.start()  # tolerates the existing bucket
    await store.put_file("rec/x.mp4", _file(tmp_path, b"evidence"), content_type="video/mp4")
    await store.put_file("rec/x.mp4", _file(tmp_path, b"evidence"), content_type="video/mp4")

    assert await store.set_legal_hold("rec/x.mp4", True) is True
    assert raw.is_object_legal_hold_enabled(bucket, "rec/x.mp4")
    with pytest.raises(ObjectStoreError) as err:
        await store.delete("rec/x.mp4")
    assert not err.value.retriable and "held" in str(err.value)
    assert await store.read_bytes("rec/x.mp4") == b"evidence"

    assert await store.set_legal_hold("rec/x.mp4", False) is True
    await store.delete("rec/x.mp4")
    assert await store.stat("rec/x.mp4") is None
    # Every version is gone, not just hidden behind a delete marker.
    assert list(raw.list_objects(bucket, prefix="rec/", include_version=True)) == []


async def test_object_lock_bucket_with_default_retention_accepts_uploads(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = _bucket()
    raw = _raw(s3_server)
    raw.make_bucket(bucket, object_lock=True)
    raw.set_object_lock_config(bucket, ObjectLockConfig(GOVERNANCE, 1, DAYS))
    store = _s3_store(s3_server, bucket)
    await store.start()
    # Over plain http this needs the checksum header (the SDK only adds Content-MD5 on https).
    await store.put_file("rec/y.mp4", _file(tmp_path, b"kept"), content_type="video/mp4")
    assert await store.read_bytes("rec/y.mp4") == b"kept"


# --- S3 only: outages and refusals ----------------------------------------------------------


async def test_store_down_fails_fast_and_restart_keeps_data(
    s3_server: S3Server, tmp_path: Path
) -> None:
    store = _s3_store(s3_server, _bucket())
    await store.start()
    await store.put_file("o/x.mp4", _file(tmp_path, b"before"), content_type="video/mp4")
    src = _file(tmp_path, b"y")
    s3_server.stop()
    try:
        for attempt in (store.stat("o/x.mp4"), store.put_file("o/y", src, content_type="x/y")):
            with _within(5), pytest.raises(ObjectStoreError) as err:
                await attempt
            assert err.value.retriable
            assert s3_server.endpoint in str(err.value) and store.bucket in str(err.value)
    finally:
        s3_server.start()
    assert await store.read_bytes("o/x.mp4") == b"before"


async def test_hung_store_times_out(s3_server: S3Server) -> None:
    store = _s3_store(s3_server, _bucket(), read_timeout_s=1.0)
    await store.start()
    s3_server.pause()
    try:  # one read timeout, not one per retry
        with _within(2.5), pytest.raises(ObjectStoreError) as err:
            await store.stat("o/x.mp4")
    finally:
        s3_server.resume()
    assert err.value.retriable and "Timeout" in str(err.value)


@pytest.mark.parametrize("who", ["unknown-key", "wrong-secret", "no-permission"])
async def test_refused_credentials_are_fatal(s3_server: S3Server, who: str) -> None:
    good = s3_server.credentials
    creds = {
        "unknown-key": replace(good, access_key="AKIAUNKNOWN0000", secret_key="not-the-secret"),
        "wrong-secret": replace(good, secret_key="not-the-secret-0123456789"),
        "no-permission": s3_server.unprivileged,
    }[who]
    bucket = _bucket()
    with s3_server.auth_enforced():
        await _s3_store(s3_server, bucket).start()  # the right key works under checks
        with _within(5), pytest.raises(ObjectStoreError) as err:
            await _s3_store(s3_server, bucket, creds).start()
    message = str(err.value)
    assert not err.value.retriable
    assert s3_server.endpoint in message and bucket in message
    assert creds.secret_key not in message and creds.access_key not in message


async def test_bucket_removed_after_start_is_fatal(s3_server: S3Server, tmp_path: Path) -> None:
    store = _s3_store(s3_server, _bucket())
    await store.start()
    _raw(s3_server).remove_bucket(store.bucket)
    for attempt in (
        store.put_file("x/y.mp4", _file(tmp_path, b"y"), content_type="video/mp4"),
        store.stat("x/y.mp4"),
    ):
        with pytest.raises(ObjectStoreError) as err:
            await attempt
        assert not err.value.retriable and "NoSuchBucket" in str(err.value)


# --- error classification and the package surface ------------------------------------------


def _s3_error(status: int, code: str) -> S3Error:
    response = urllib3.HTTPResponse(status=status)
    return S3Error(response, code, "msg", "/b/k", "req", "host")


@pytest.mark.parametrize(
    ("exc", "retriable"),
    [
        (_s3_error(503, "SlowDown"), True),
        (_s3_error(500, "InternalError"), True),
        (_s3_error(400, "RequestTimeout"), True),
        (_s3_error(403, "AccessDenied"), False),
        (_s3_error(403, "InvalidAccessKeyId"), False),
        (_s3_error(403, "SignatureDoesNotMatch"), False),
        (_s3_error(404, "NoSuchBucket"), False),
        (ServerError("bad gateway", 502), True),
        (InvalidResponseError(403, "text/html", "<html>proxy says no</html>"), False),
        (NewConnectionError(None, "refused"), True),  # type: ignore[arg-type]
        (ProtocolError("connection reset"), True),
        (ConnectionResetError(), True),
        (SSLError("certificate verify failed"), False),
    ],
)
def test_error_classification(exc: Exception, retriable: bool) -> None:
    error = translate_error(exc, action="upload k on s3://b@h:9000")
    assert error.retriable is retriable
    assert str(error).startswith("upload k on s3://b@h:9000: ")


def test_factory_and_exports(tmp_path: Path) -> None:
    local = build_object_store(LocalStoreConfig(root=tmp_path / "objects"))
    assert isinstance(local, LocalObjectStore)
    assert local.describe() == (tmp_path / "objects").as_uri()
    s3 = build_object_store(
        S3StoreConfig(
            endpoint="minio.edu.local:9000",
            bucket="bkhub",
            access_key=SecretStr("hub"),
            secret_key=SecretStr("s3cr3t-value"),
        )
    )
    assert isinstance(s3, S3ObjectStore)
    assert s3.describe() == "s3://bkhub@minio.edu.local:9000"
    assert sorted(objectstore.__all__) == [
        "LocalObjectStore",
        "ObjectInfo",
        "ObjectStore",
        "ObjectStoreError",
        "S3ObjectStore",
        "build_object_store",
        "check_key",
    ]


async def test_no_event_loop_blocking_on_a_dead_store() -> None:
    """While a call to a dead endpoint waits out its retries, the loop keeps running."""
    store = S3ObjectStore(
        endpoint="127.0.0.1:9",  # discard port: nothing listens
        bucket="bkhub",
        access_key="hub",
        secret_key="s3cr3t-value",
        secure=False,
        region="us-east-1",
    )
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick(), name="test:ticker")
    try:
        with pytest.raises(ObjectStoreError) as err:
            await store.start()
    finally:
        ticker.cancel()
    assert err.value.retriable and ticks > 1
    assert "s3cr3t-value" not in str(err.value)
