"""企业微信群机器人: a markdown message, then the snapshot as an image message.

The robot API: POST JSON to the webhook URL (its `key` query is the credential);
{"msgtype": "markdown", "markdown": {"content": ...}} and
{"msgtype": "image", "image": {"base64": ..., "md5": <hex md5 of the raw image>}}; the answer is
{"errcode": 0, "errmsg": "ok"} (45009: too many messages this minute, retried).
The API has no idempotency key: a crash between a send and its record can repeat one message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging

from hub.config.alerts import WeComChannel as WeComConfig

from ..errors import DeliveryError
from ..model import Outgoing
from ._http import HttpChannel, post_json, robot_result

__all__ = ["WeComChannel"]

log = logging.getLogger(__name__)

_RETRIABLE = frozenset({-1, 45009})  # system busy; API frequency limit
_MAX_IMAGE = 2 * 1024 * 1024  # the robot refuses larger images


class WeComChannel(HttpChannel):
    wants_snapshot = True

    def __init__(self, config: WeComConfig) -> None:
        super().__init__(config)
        self._send_image = config.send_image

    async def _post(self, payload: dict[str, object]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        response = await post_json(self.client, self._url, body=body)
        robot_result(response, retriable_codes=_RETRIABLE)

    async def send(self, message: Outgoing) -> None:
        await self._post({"msgtype": "markdown", "markdown": {"content": message.markdown}})
        image = message.snapshot
        if self._send_image and image and len(image) <= _MAX_IMAGE:
            # The text is what matters; a failed image after it must not resend the text.
            try:
                await self._post(
                    {
                        "msgtype": "image",
                        "image": {
                            "base64": base64.b64encode(image).decode(),
                            "md5": hashlib.md5(image).hexdigest(),
                        },
                    }
                )
            except DeliveryError as exc:
                log.warning("channel %s: snapshot image not sent: %s", self.name, exc)
