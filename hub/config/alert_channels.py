"""Alert channel configs: one model per kind, a discriminated union on `type`.

URLs and hosts are deliberately checked when the channel is built (hub/alerts/channels), not
here: one malformed webhook URL must disable one channel and show in health, not stop the hub
from starting (and so stop ingest and detection).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, model_validator

from ._base import Port, Section, Slug

__all__ = [
    "AlertChannel",
    "ConsoleChannel",
    "DingTalkChannel",
    "MqttChannel",
    "SmtpChannel",
    "SmtpSecurity",
    "WeComChannel",
    "WebhookChannel",
]


class _ChannelBase(Section):
    name: Slug = Field(
        default="", description="Name recipients refer to, e.g. 'dcxx-wecom'; default: the type."
    )
    enabled: bool = Field(default=True, description="false: keep the config, send nothing.")
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="Timeout of one send.")

    @model_validator(mode="before")
    @classmethod
    def _default_name(cls, data: Any) -> Any:
        # One channel of a kind needs no name: it is called by its type.
        if isinstance(data, Mapping) and not data.get("name"):
            kind = data.get("type", cls.model_fields["type"].default)
            return {**data, "name": kind} if isinstance(kind, str) else data
        return data


class WeComChannel(_ChannelBase):
    """企业微信群机器人: markdown text, then the snapshot as an image message."""

    type: Literal["wecom"] = "wecom"
    # repr=False: the robot's key is in the URL.
    url: str = Field(
        repr=False,
        min_length=1,
        description="Robot webhook, e.g. https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...",
    )
    send_image: bool = Field(default=True, description="Send the snapshot after the text.")


class DingTalkChannel(_ChannelBase):
    """钉钉自定义机器人 with 加签 (signed timestamp) security."""

    type: Literal["dingtalk"] = "dingtalk"
    url: str = Field(
        repr=False,
        min_length=1,
        description="Robot webhook, e.g. https://oapi.dingtalk.com/robot/send?access_token=...",
    )
    secret: SecretStr = Field(
        default=SecretStr(""), description="The robot's SEC... signing secret (an env reference)."
    )


class WebhookChannel(_ChannelBase):
    """POST each alert as JSON, signed with HMAC-SHA256 of the body."""

    type: Literal["webhook"] = "webhook"
    url: str = Field(repr=False, min_length=1, description="http(s) URL to POST alerts to.")
    secret: SecretStr = Field(
        default=SecretStr(""), description="HMAC signing key (an env reference)."
    )


class SmtpSecurity(StrEnum):
    NONE = "none"  # plain SMTP, for a relay on the education network
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS, usually port 465


class SmtpChannel(_ChannelBase):
    """E-mail through an SMTP server, with the snapshot attached."""

    type: Literal["smtp"] = "smtp"
    host: str = Field(min_length=1, description="SMTP server host name or address.")
    port: Port = Field(default=25, description="SMTP port.")
    security: SmtpSecurity = Field(default=SmtpSecurity.STARTTLS, description="none|starttls|tls")
    username: str | None = Field(default=None, description="Login name, if the server needs one.")
    password: SecretStr = Field(default=SecretStr(""), description="Password (an env reference).")
    sender: str = Field(
        default="bkhub@localhost", min_length=3, description="From address of alert mails."
    )


class MqttChannel(_ChannelBase):
    """JSON to an MQTT broker, one topic per school and type: {prefix}/{school}/{type}."""

    type: Literal["mqtt"] = "mqtt"
    host: str = Field(default="127.0.0.1", min_length=1, description="Broker host.")
    port: Port = Field(default=1883, description="Broker port.")
    username: str | None = Field(default=None, description="Login name, if the broker needs one.")
    password: SecretStr = Field(default=SecretStr(""), description="Password (an env reference).")
    topic_prefix: str = Field(
        default="bkhub/alerts", min_length=1, max_length=100, description="Topic prefix."
    )
    qos: Literal[0, 1, 2] = Field(default=1, description="MQTT QoS; 1 = at least once.")


class ConsoleChannel(_ChannelBase):
    """The console's live alert stream (server-sent events); needs nothing outside the hub."""

    type: Literal["console"] = "console"


AlertChannel = Annotated[
    WeComChannel | DingTalkChannel | WebhookChannel | SmtpChannel | MqttChannel | ConsoleChannel,
    Field(discriminator="type"),
]
