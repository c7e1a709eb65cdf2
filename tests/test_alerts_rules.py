"""The pure decisions of hub.alerts: routing, quiet and duty hours, grouping, links, text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

import hub.alerts
from hub.alerts import AckSigner, InvalidAckToken
from hub.alerts.grouping import TargetHistory, plan_delivery
from hub.alerts.model import RecipientRef
from hub.alerts.render import Renderer
from hub.alerts.routing import AlertPolicy
from hub.alerts.schedule import next_allowed
from hub.config.alerts import GroupingConfig, RateLimitConfig, Recipient
from tests.alerting import T0, hub_config, routing, violation

SH = ZoneInfo("Asia/Shanghai")


def _person(**extra: object) -> Recipient:
    return Recipient.model_validate(
        {"id": "p", "name": "P", "role": "district_desk", "channels": ["console"], **extra}
    )


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def test_quiet_hours_hold_non_urgent_until_they_end() -> None:
    person = _person(quiet_hours={"start": "22:00", "end": "06:30"})
    night = _local("2026-11-29 23:10")
    assert next_allowed(night, person, urgent=False, tz=SH) == _local("2026-11-30 06:30")
    assert next_allowed(night, person, urgent=True, tz=SH) == night
    strict = _person(quiet_hours={"start": "22:00", "end": "06:30", "urgent_passes": False})
    assert next_allowed(night, strict, urgent=True, tz=SH) == _local("2026-11-30 06:30")
    noon = _local("2026-11-29 12:00")
    assert next_allowed(noon, person, urgent=False, tz=SH) == noon


def test_duty_hours_wait_for_the_next_shift_and_urgent_does_not() -> None:
    person = _person(
        on_duty=[{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "06:00", "end": "14:00"}]
    )
    saturday = _local("2026-11-28 09:00")
    assert next_allowed(saturday, person, urgent=False, tz=SH) == _local("2026-11-30 06:00")
    assert next_allowed(saturday, person, urgent=True, tz=SH) == saturday
    monday = _local("2026-11-30 10:00")
    assert next_allowed(monday, person, urgent=False, tz=SH) == monday


def _history(**kw: object) -> TargetHistory:
    base: dict[str, object] = {
        "open_message_id": None,
        "last_group_at": None,
        "last_same_at": None,
        "recent_count": 0,
        "oldest_recent_at": None,
    }
    return TargetHistory(**{**base, **kw})  # type: ignore[arg-type]


GROUP = GroupingConfig(window_s=60, dedupe_s=300)
RATE = RateLimitConfig(max_messages=3, window_s=600)


def _plan(history: TargetHistory, *, urgent: bool = False) -> tuple[float, int | None]:
    plan = plan_delivery(history, now=T0, allowed_at=T0, urgent=urgent, grouping=GROUP, rate=RATE)
    return (plan.due_at - T0).total_seconds(), plan.append_to


def test_grouping_first_event_now_later_ones_in_one_digest() -> None:
    assert _plan(_history()) == (0, None)
    just_sent = _history(last_group_at=T0 - timedelta(seconds=20))
    assert _plan(just_sent) == (40, None)  # a new digest at the end of the window
    assert _plan(_history(last_group_at=T0 - timedelta(seconds=20), open_message_id=7)) == (40, 7)
    assert _plan(just_sent, urgent=True) == (0, None)  # a rat does not wait for the kitchen


def test_dedupe_folds_a_flapping_camera_even_when_urgent() -> None:
    again = _history(last_same_at=T0 - timedelta(seconds=100), open_message_id=3)
    assert _plan(again, urgent=True) == (200, 3)


def test_rate_limit_holds_past_the_limit_until_the_window_has_room() -> None:
    full = _history(recent_count=3, oldest_recent_at=T0 - timedelta(seconds=500))
    assert _plan(full, urgent=True) == (100, None)
    assert _plan(_history(recent_count=2, oldest_recent_at=T0), urgent=True) == (0, None)


def test_targets_merge_people_on_one_channel_and_levels_climb() -> None:
    channels = [
        {"type": "webhook", "name": "grp", "url": "http://127.0.0.1:1/h"},
        {"type": "smtp", "host": "127.0.0.1"},
        {"type": "console"},
    ]
    policy = AlertPolicy(hub_config(routing(channels)))
    rat = policy.describe(violation("dcxx-hot", "rat"))
    assert (rat.school_id, rat.town_id, rat.kitchen_id, rat.severity) == (
        "dcxx",
        "dongcheng",
        "main",
        "urgent",
    )
    targets = {
        (t.channel, t.address): [p.id for p in t.recipients] for t in policy.targets(rat, "school")
    }
    assert targets == {
        ("grp", ""): ["dcxx-principal"],
        ("smtp", "wang@dcxx.example.edu"): ["dcxx-principal"],
        ("console", ""): ["dcxx-principal"],
    }
    assert [p.id for p in policy.recipients(rat, "town")] == ["dongcheng-staff"]
    assert policy.escalation_times(rat, T0) == (
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=2),
    )
    gloves = policy.describe(violation("dcxx-hot", "no_gloves", severity="urgent"))
    assert gloves.severity == "warning"  # the configured severity wins
    assert policy.escalation_times(gloves, T0) == (None, None)  # escalate: false
    direct = policy.describe(violation("sfsy-hot", "rat"))  # 局直学校: straight to the district
    assert policy.escalation_times(direct, T0) == (None, T0 + timedelta(minutes=1))


def test_min_severity_and_kinds_filter_recipients() -> None:
    alerts = routing([{"type": "console"}])
    alerts["recipients"][4]["min_severity"] = "urgent"
    alerts["recipients"][4]["kinds"] = ["violation"]
    policy = AlertPolicy(hub_config(alerts))
    warning = policy.describe(violation("dcxx-hot", "no_mask", severity="warning"))
    assert policy.recipients(warning, "district") == []
    rat = policy.describe(violation("dcxx-hot", "rat"))
    assert [p.id for p in policy.recipients(rat, "district")] == ["district-desk"]


def test_ack_links_are_signed_and_expire() -> None:
    signer = AckSigner(b"k", ttl=timedelta(hours=1))
    token = signer.sign("abc123", who="dcxx-principal", now=T0)
    claim = signer.verify(token, now=T0 + timedelta(minutes=59))
    assert (claim.event_id, claim.who) == ("abc123", "dcxx-principal")
    with pytest.raises(InvalidAckToken, match="expired"):
        signer.verify(token, now=T0 + timedelta(minutes=61))
    forged = token.replace("abc123", "abc124")
    with pytest.raises(InvalidAckToken, match="signature"):
        signer.verify(forged, now=T0)
    with pytest.raises(InvalidAckToken, match="signature"):
        AckSigner(b"other", ttl=timedelta(hours=1)).verify(token, now=T0)
    with pytest.raises(InvalidAckToken, match="malformed"):
        signer.verify("../../etc", now=T0)


def test_message_text_is_chinese_with_local_time_and_links() -> None:
    policy = AlertPolicy(hub_config(routing([{"type": "console"}])))
    renderer = Renderer(policy, AckSigner(b"k", ttl=timedelta(hours=72)))
    rat = violation("dcxx-hot", "rat", severity="urgent")
    rat.id = "e1"
    who = (RecipientRef("dcxx-principal", "王校长"),)
    one = renderer.render(
        key="k1",
        channel="console",
        address="",
        level="school",
        school_id="dcxx",
        recipients=who,
        events=[rat],
        created_at=T0,
        now=T0,
    )
    first_line = one.text.splitlines()[0]
    expected = "【明厨亮灶告警】东城镇中心小学 烹饪区 1：发现老鼠（紧急）" + "2026-11-29 13:05:02"
    assert first_line == expected
    assert "https://bkhub.example.edu/events/e1" in one.text
    assert "https://bkhub.example.edu/ack/e1." in one.text
    gloves = violation("dcxx-prep", "no_gloves", at=T0 + timedelta(seconds=30))
    gloves.id = "e2"
    two = renderer.render(
        key="k2",
        channel="console",
        address="",
        level="town",
        school_id="dcxx",
        recipients=who,
        events=[rat, gloves],
        created_at=T0,
        now=T0,
    )
    assert two.title == "【明厨亮灶告警·已升级至镇】东城镇中心小学 学生食堂：2 条告警"
    assert "13:05:32 切配区：未戴手套（警告）" in two.text
    assert "学校未在规定时间内确认" in two.markdown
    assert datetime.fromisoformat(two.as_json()["events"][0]["started_at"]).tzinfo == UTC
    # An event that carries its own account (the daily health digest) says it in the message.
    digest = violation("dcxx-hot", "health_digest")
    digest.id, digest.detail = "e3", '{"summary": "3 个摄像头仍有故障，共 4 项"}'
    told = renderer.render(
        key="k3",
        channel="console",
        address="",
        level="school",
        school_id="dcxx",
        recipients=who,
        events=[digest],
        created_at=T0,
        now=T0,
    )
    assert "设备故障日报" in told.title
    assert "3 个摄像头仍有故障，共 4 项" in told.text and "共 4 项" in told.markdown


def test_public_api_is_pinned() -> None:
    assert sorted(hub.alerts.__all__) == sorted(
        [
            "CHANNEL_TYPES", "AckError", "AckResult", "AckSigner", "AlertError", "AlertPolicy",
            "AlertService", "Channel", "ChannelConfigError", "ChannelHealth", "ChannelState",
            "Clock", "ConsoleBus", "DeliveryError", "EventLine", "FatalDeliveryError",
            "InvalidAckToken", "Notice", "Outgoing", "RecipientRef", "RetriableDeliveryError",
            "Subscription", "UnknownEvent", "acknowledge", "enqueue_notice", "notice_targets",
            "raise_event", "utc_now",
        ]
    )  # fmt: skip
    assert set(hub.alerts.CHANNEL_TYPES) == {
        "wecom", "dingtalk", "webhook", "smtp", "mqtt", "console"
    }  # fmt: skip
