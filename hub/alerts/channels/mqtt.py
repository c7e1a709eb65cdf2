"""MQTT (aiomqtt): the message's JSON to {topic_prefix}/{school_id}/{type}, QoS 1 by default.

One connection per channel, opened on the first send and reopened after a failure. A grouped
message with several types goes to .../{school_id}/grouped, a notice to .../{notice}
(e.g. duty_reminder). The payload's `id` is the
idempotency key; QoS 1 may deliver twice by design, so subscribers dedupe on it.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid

import aiomqtt

from hub.config.alerts import MqttChannel as MqttConfig

from ..errors import ChannelConfigError, RetriableDeliveryError
from ..model import Outgoing
from .base import Channel

__all__ = ["MqttChannel", "topic_for"]

_TOPIC_PART = re.compile(r"[^A-Za-z0-9_.-]")  # no wildcards or separators from ids


def topic_for(prefix: str, message: Outgoing) -> str:
    types = {e.type for e in message.events}
    kind = message.notice or (types.pop() if len(types) == 1 else "grouped")
    school = message.school_id or "district"
    return "/".join([prefix.rstrip("/"), _TOPIC_PART.sub("_", school), _TOPIC_PART.sub("_", kind)])


class MqttChannel(Channel):
    def __init__(self, config: MqttConfig) -> None:
        super().__init__(config)
        if "+" in config.topic_prefix or "#" in config.topic_prefix:
            raise ChannelConfigError(f"channel {config.name}: topic_prefix has a wildcard")
        if any(c.isspace() or c in "/@" for c in config.host):
            raise ChannelConfigError(f"channel {config.name}: invalid MQTT host {config.host!r}")
        self._config = config
        self._client: aiomqtt.Client | None = None

    def _new_client(self) -> aiomqtt.Client:
        cfg = self._config
        return aiomqtt.Client(
            cfg.host,
            cfg.port,
            username=cfg.username,
            password=cfg.password.get_secret_value() or None,
            identifier=f"bkhub-{cfg.name}-{uuid.uuid4().hex[:8]}",
            timeout=self.timeout_s,
        )

    async def _connected(self) -> aiomqtt.Client:
        if self._client is None:
            client = self._new_client()
            try:
                await client.__aenter__()
            except aiomqtt.MqttError as exc:
                raise RetriableDeliveryError(f"MQTT connect failed: {exc}") from exc
            self._client = client
        return self._client

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):  # already gone: nothing to close
                await client.__aexit__(None, None, None)

    async def probe(self) -> None:
        await self._connected()

    async def send(self, message: Outgoing) -> None:
        client = await self._connected()
        payload = json.dumps(message.as_json(), ensure_ascii=False).encode()
        try:
            await client.publish(
                topic_for(self._config.topic_prefix, message),
                payload,
                qos=self._config.qos,
                timeout=self.timeout_s,
            )
        except aiomqtt.MqttError as exc:
            await self.stop()  # reconnect on the next attempt
            raise RetriableDeliveryError(f"MQTT publish failed: {exc}") from exc
