"""Each alert channel against a real receiver on loopback: the robots' and webhook's checks,
aiosmtpd, and the Mosquitto broker on 127.0.0.1:1883."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from hub.alerts import (
    AckSigner,
    ChannelConfigError,
    ConsoleBus,
    FatalDeliveryError,
    Outgoing,
    RecipientRef,
    RetriableDeliveryError,
)
from hub.alerts.channels import build_channel
from hub.alerts.render import Renderer
from hub.alerts.routing import AlertPolicy
from hub.config.alerts import AlertsConfig
from tests.alert_receivers import (
    DINGTALK_SECRET,
    WEBHOOK_SECRET,
    HttpReceiver,
    SmtpReceiver,
    free_port,
)
from tests.alerting import T0, hub_config, routing, violation

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9"  # stands in for a snapshot


def _channel(spec: dict[str, Any]) -> Any:
    config = AlertsConfig.model_validate({"channels": [spec]}).channels[0]
    return build_channel(config, ConsoleBus())


def _message(*, address: str = "", snapshot: bytes | None = JPEG) -> Outgoing:
    policy = AlertPolicy(hub_config(routing([{"type": "console"}])))
    event = violation("dcxx-hot", "rat", severity="urgent", snapshot_key="snap/e1.jpg")
    event.id = "e1"
    out = Renderer(policy, AckSigner(b"k", ttl=timedelta(hours=1))).render(
        key=uuid.uuid4().hex,
        channel="x",
        address=address,
        level="school",
        school_id="dcxx",
        recipients=(RecipientRef("dcxx-principal", "王校长", mobile="13800000001"),),
        events=[event],
        created_at=T0,
        now=T0,
    )
    return replace(out, snapshot=snapshot, snapshot_name="e1.jpg")


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


async def test_wecom_sends_markdown_then_the_snapshot(http: HttpReceiver) -> None:
    channel = _channel({"type": "wecom", "url": http.wecom_url})
    await channel.start()
    try:
        await channel.send(_message())
    finally:
        await channel.stop()
    assert http.rejected == []
    text, image = (m.body for m in http.messages)
    assert "发现老鼠" in text["markdown"]["content"]
    assert image["msgtype"] == "image"  # the receiver checked its md5 like the robot does
    bad = _channel({"type": "wecom", "url": http.wecom_url.replace("test-key", "wrong")})
    await bad.start()
    try:
        with pytest.raises(FatalDeliveryError, match="93000"):
            await bad.send(_message())
    finally:
        await bad.stop()


async def test_dingtalk_signs_its_timestamp_as_the_robot_checks(http: HttpReceiver) -> None:
    good = _channel({"type": "dingtalk", "url": http.dingtalk_url, "secret": DINGTALK_SECRET})
    bad = _channel({"type": "dingtalk", "url": http.dingtalk_url, "secret": "SECwrong"})
    for channel in (good, bad):
        await channel.start()
    try:
        await good.send(_message())
        with pytest.raises(FatalDeliveryError, match="310000"):
            await bad.send(_message())
    finally:
        for channel in (good, bad):
            await channel.stop()
    (received,) = http.messages
    assert received.body["at"]["atMobiles"] == ["13800000001"]
    assert "@13800000001" in received.body["markdown"]["text"]
    assert received.body["markdown"]["title"].startswith("【明厨亮灶告警】")


async def test_webhook_is_hmac_signed_and_errors_are_classified(http: HttpReceiver) -> None:
    channel = _channel({"type": "webhook", "url": http.hook_url, "secret": WEBHOOK_SECRET})
    await channel.start()
    try:
        message = _message()
        await channel.send(message)
        assert http.rejected == [] and http.keys == {message.key: 1}
        body = http.messages[0].body
        assert body["id"] == message.key and body["events"][0]["type"] == "rat"
        http.status = 503
        with pytest.raises(RetriableDeliveryError, match="503"):
            await channel.send(message)
        http.status = 400
        with pytest.raises(FatalDeliveryError, match="400"):
            await channel.send(message)
        http.stop()
        with pytest.raises(RetriableDeliveryError):
            await channel.send(message)
    finally:
        await channel.stop()


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "webhook", "url": "htp:/nope"},
        {"type": "wecom", "url": "https://qyapi.weixin.qq.com:99999/send"},
        {"type": "dingtalk", "url": "not a url"},
        {"type": "smtp", "host": "mail example"},
        {"type": "mqtt", "topic_prefix": "a/#"},
    ],
)
def test_unusable_settings_are_channel_config_errors(spec: dict[str, Any]) -> None:
    with pytest.raises(ChannelConfigError):
        _channel(spec)


async def test_smtp_mails_the_alert_with_its_snapshot() -> None:
    pytest.importorskip("aiosmtpd")
    server = SmtpReceiver().start()
    channel = _channel(
        {"type": "smtp", "host": "127.0.0.1", "port": server.port, "security": "none"}
    )
    try:
        await channel.probe()
        message = _message(address="wang@dcxx.example.edu")
        await channel.send(message)
    finally:
        server.stop()
    (mail,) = server.mails
    assert mail["X-Envelope-To"] == "wang@dcxx.example.edu"
    assert mail["Message-ID"] == f"<{message.key}@bkhub>"
    assert "发现老鼠" in str(mail["Subject"])
    parts = list(mail.walk())
    body = next(p for p in parts if p.get_content_type() == "text/plain")
    text = body.get_payload(decode=True)
    assert isinstance(text, bytes) and "https://bkhub.example.edu/events/e1" in text.decode()
    image = next(p for p in parts if p.get_content_type() == "image/jpeg")
    assert image.get_payload(decode=True) == JPEG
    unreachable = _channel({"type": "smtp", "host": "127.0.0.1", "port": free_port()})
    with pytest.raises(RetriableDeliveryError, match="Connection"):
        await unreachable.probe()


async def test_mqtt_publishes_to_a_topic_per_school_and_type(no_lingering_tasks: None) -> None:
    aiomqtt = pytest.importorskip("aiomqtt")
    prefix = f"bkhub-test/{uuid.uuid4().hex[:8]}"
    channel = _channel({"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic_prefix": prefix})
    message = _message()
    async with aiomqtt.Client("127.0.0.1", 1883) as sub:
        await sub.subscribe(f"{prefix}/#", qos=1)
        try:
            await channel.send(message)
            async with asyncio.timeout(5):
                received = await anext(aiter(sub.messages))
        finally:
            await channel.stop()
    assert str(received.topic) == f"{prefix}/dcxx/rat"
    payload = json.loads(received.payload)
    assert payload["id"] == message.key and payload["events"][0]["camera_name"] == "烹饪区 1"
    dead = _channel({"type": "mqtt", "host": "127.0.0.1", "port": free_port(), "timeout_s": 2})
    with pytest.raises(RetriableDeliveryError):
        await dead.probe()
    await dead.stop()


async def test_console_bus_filters_by_scope_and_drops_oldest_when_full() -> None:
    bus = ConsoleBus()
    channel = build_channel(AlertsConfig.model_validate({"channels": [{"type": "console"}]})
                            .channels[0], bus)  # fmt: skip
    mine = bus.subscribe(lambda p: p["school_id"] == "dcxx")
    other = bus.subscribe(lambda p: p["school_id"] == "elsewhere")
    message = _message()
    for _ in range(105):
        await channel.send(message)
    assert other.queue.qsize() == 0
    assert mine.queue.qsize() == 100 and mine.dropped == 5
    assert (await mine.get())["id"] == message.key
    mine.close()
    other.close()
    assert bus.subscribers == 0
