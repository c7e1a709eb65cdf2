"""Where segments and clips end up: a local folder or an S3-compatible store (MinIO)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr

from ._base import Section

__all__ = ["LocalStoreConfig", "ObjectStoreConfig", "S3StoreConfig", "StorageConfig"]

_ENDPOINT_RE = re.compile(r"^[A-Za-z0-9.-]+(:(?P<port>\d{1,5}))?$")
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _check_endpoint(value: str) -> str:
    match = _ENDPOINT_RE.match(value)
    port = match and match.group("port")
    if not match or (port and not 1 <= int(port) <= 65535):
        raise ValueError("expected host or host:port without a scheme (set secure for https)")
    return value


def _check_bucket(value: str) -> str:
    # The S3 naming rules MinIO enforces too.
    if not _BUCKET_RE.match(value) or ".." in value or value.startswith("xn--"):
        raise ValueError(
            f"invalid bucket name {value!r}: 3-63 lowercase letters, digits, '.' or '-', "
            "starting and ending with a letter or digit"
        )
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return value
    raise ValueError(f"invalid bucket name {value!r}: must not look like an IP address")


class LocalStoreConfig(Section):
    """Objects as files under one folder: the embedded default."""

    type: Literal["local"] = "local"
    root: Path = Field(
        default=Path("data/objects"),
        description="Folder for objects; a relative path is taken from the config file's folder.",
    )


class S3StoreConfig(Section):
    """An S3-compatible object store, e.g. MinIO on the education network."""

    type: Literal["s3"] = "s3"
    endpoint: Annotated[str, AfterValidator(_check_endpoint)] = Field(
        description="host:port of the S3 API, e.g. 'minio.edu.local:9000'."
    )
    bucket: Annotated[str, AfterValidator(_check_bucket)] = Field(
        default="bkhub", description="Bucket for segments and clips."
    )
    access_key: SecretStr = Field(description="Access key (an env reference).")
    secret_key: SecretStr = Field(description="Secret key (an env reference).")
    secure: bool = Field(default=True, description="Use https.")
    region: str | None = Field(default=None, description="Region, if the store needs one.")


ObjectStoreConfig = Annotated[LocalStoreConfig | S3StoreConfig, Field(discriminator="type")]


class StorageConfig(Section):
    """The object store for recordings and clips."""

    object_store: ObjectStoreConfig = Field(
        default_factory=LocalStoreConfig, description="type: local (default) or s3."
    )
