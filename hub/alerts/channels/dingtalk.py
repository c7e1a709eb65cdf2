"""钉钉自定义机器人 with 加签: ?timestamp=<ms>&sign=<urlencode(base64(HmacSHA256(secret,
f"{timestamp}\\n{secret}")))>, markdown body {"msgtype": "markdown", "markdown": {"title",
"text"}, "at": {"atMobiles": [...]}}; the answer is {"errcode": 0, "errmsg": "ok"}.

A robot secured by keyword instead (自定义关键词) accepts these messages with the keyword
"明厨亮灶告警", which every title carries. DingTalk rejects a timestamp more than an hour
off, so it is taken at each send. Markdown cannot carry an image inline except by URL; the
message links the event in the console.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import quote_plus

from hub.config.alerts import DingTalkChannel as DingTalkConfig

from ..model import Outgoing
from ._http import HttpChannel, post_json, robot_result

__all__ = ["DingTalkChannel", "dingtalk_sign"]

_RETRIABLE = frozenset({-1, 130101, 660026})  # busy; sending too fast; rate limited


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """The `sign` query value for a timestamp, URL-encoded as the robot expects."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


class DingTalkChannel(HttpChannel):
    def __init__(self, config: DingTalkConfig) -> None:
        super().__init__(config)
        self._secret = config.secret.get_secret_value()

    def _signed_url(self) -> str:
        if not self._secret:
            return self._url
        timestamp = str(int(time.time() * 1000))
        sep = "&" if "?" in self._url else "?"
        return (
            f"{self._url}{sep}timestamp={timestamp}&sign={dingtalk_sign(self._secret, timestamp)}"
        )

    async def send(self, message: Outgoing) -> None:
        mobiles = [r.mobile for r in message.recipients if r.mobile]
        text = message.markdown
        if mobiles:  # DingTalk only rings people whose @mobile is in the text
            text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": text},
            "at": {"atMobiles": mobiles, "isAtAll": False},
        }
        body = json.dumps(payload, ensure_ascii=False).encode()
        response = await post_json(self.client, self._signed_url(), body=body)
        robot_result(response, retriable_codes=_RETRIABLE)
