"""Shared HTTP plumbing for the webhook-style channels: URL checks and error classes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import ChannelConfigError, FatalDeliveryError, RetriableDeliveryError
from .base import Channel

__all__ = ["HttpChannel", "check_http_url", "post_json", "redact"]


def check_http_url(url: str, *, what: str) -> str:
    """A usable http(s) URL, or ChannelConfigError naming what is wrong (never the URL's
    query, which holds the robot's token)."""
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
    except ValueError as exc:
        raise ChannelConfigError(f"{what}: malformed URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ChannelConfigError(f"{what}: URL must start with http:// or https://")
    if not parts.hostname or any(c.isspace() for c in url):
        raise ChannelConfigError(f"{what}: URL has no host or contains spaces")
    return url


def redact(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    *,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST; network errors, timeouts, 429 and 5xx are retriable, other 4xx fatal."""
    try:
        response = await client.post(
            url, content=body, headers={"Content-Type": "application/json", **(headers or {})}
        )
    except httpx.TimeoutException as exc:
        raise RetriableDeliveryError(f"timeout talking to {redact(url)}") from exc
    except httpx.HTTPError as exc:
        raise RetriableDeliveryError(f"{redact(url)}: {type(exc).__name__}: {exc}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise RetriableDeliveryError(f"{redact(url)} answered HTTP {response.status_code}")
    if response.status_code >= 400:
        raise FatalDeliveryError(f"{redact(url)} refused with HTTP {response.status_code}")
    return response


def robot_result(response: httpx.Response, *, retriable_codes: frozenset[int]) -> None:
    """WeCom and DingTalk answer HTTP 200 with {"errcode": 0} or an error code."""
    try:
        data: Any = response.json()
    except ValueError:
        raise RetriableDeliveryError("robot answered something that is not JSON") from None
    code = data.get("errcode", -1) if isinstance(data, dict) else -1
    if code == 0:
        return
    message = f"robot error {code}: {data.get('errmsg', '') if isinstance(data, dict) else ''}"
    if code in retriable_codes or code == -1:
        raise RetriableDeliveryError(message)
    raise FatalDeliveryError(message)


class HttpChannel(Channel):
    """A channel that POSTs to one configured URL with a client it owns while started."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._url = check_http_url(config.url, what=f"channel {config.name}")
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout_s)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError("channel not started")
        return self._client
