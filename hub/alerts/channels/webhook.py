"""Generic JSON webhook, signed: X-BKHub-Signature: sha256=<hex HMAC-SHA256(secret, ts.body)>.

Headers: X-BKHub-Timestamp (unix seconds; the receiver rejects old ones against replay),
X-BKHub-Signature over f"{timestamp}.".encode() + body, and Idempotency-Key (the message key,
the same on every retry: a receiver that remembers keys sees each alert once).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from hub.config.alerts import WebhookChannel as WebhookConfig

from ..model import Outgoing
from ._http import HttpChannel, post_json

__all__ = ["WebhookChannel", "sign_webhook"]


def sign_webhook(secret: bytes, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


class WebhookChannel(HttpChannel):
    def __init__(self, config: WebhookConfig) -> None:
        super().__init__(config)
        self._secret = config.secret.get_secret_value().encode()

    async def send(self, message: Outgoing) -> None:
        body = json.dumps(message.as_json(), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {"Idempotency-Key": message.key, "X-BKHub-Timestamp": timestamp}
        if self._secret:
            headers["X-BKHub-Signature"] = sign_webhook(self._secret, timestamp, body)
        await post_json(self.client, self._url, body=body, headers=headers)
