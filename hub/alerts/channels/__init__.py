"""Alert channels: the base class, the kinds in a plain registry dict, and `build_channel`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import ChannelConfigError
from .base import Channel
from .console import ConsoleBus, ConsoleChannel, Subscription
from .dingtalk import DingTalkChannel
from .smtp import SmtpChannel
from .webhook import WebhookChannel
from .wecom import WeComChannel

__all__ = ["CHANNEL_TYPES", "Channel", "ConsoleBus", "Subscription", "build_channel"]


def _mqtt(config: Any, _bus: ConsoleBus) -> Channel:
    # aiomqtt is needed only when an mqtt channel is configured.
    try:
        from .mqtt import MqttChannel
    except ImportError as exc:
        raise ChannelConfigError(f"channel {config.name}: MQTT needs aiomqtt ({exc})") from None
    return MqttChannel(config)


# type (the config's `type` tag) -> constructor taking (config, bus)
CHANNEL_TYPES: dict[str, Callable[[Any, ConsoleBus], Channel]] = {
    "wecom": lambda cfg, _bus: WeComChannel(cfg),
    "dingtalk": lambda cfg, _bus: DingTalkChannel(cfg),
    "webhook": lambda cfg, _bus: WebhookChannel(cfg),
    "smtp": lambda cfg, _bus: SmtpChannel(cfg),
    "mqtt": _mqtt,
    "console": lambda cfg, bus: ConsoleChannel(cfg, bus=bus),
}


def build_channel(config: Any, bus: ConsoleBus) -> Channel:
    """The channel a config describes; ChannelConfigError if its settings cannot work."""
    return CHANNEL_TYPES[config.type](config, bus)
