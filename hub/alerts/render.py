"""Message text, Simplified Chinese first, times in the district's zone, with links."""

from __future__ import annotations

import json
from datetime import datetime

from storage.db.models import Event

from .ack import AckSigner
from .model import EventLine, Outgoing, RecipientRef
from .routing import SEVERITY_LABELS, AlertPolicy

__all__ = ["Renderer"]

BRAND = "【明厨亮灶告警】"
_LEVEL_TAGS = {"school": "", "town": "·已升级至镇", "district": "·已升级至区教育局"}
_MAX_LINES = 20  # a digest lists this many events, then counts the rest
_MAX_MARKDOWN_BYTES = 4000  # WeCom rejects markdown over 4096 bytes


class Renderer:
    def __init__(self, policy: AlertPolicy, signer: AckSigner) -> None:
        self._policy = policy
        self._signer = signer
        self._tz = policy.tz

    def line(self, event: Event, *, who: str, now: datetime) -> EventLine:
        config, facts = self._policy.config, self._policy.describe(event)
        school_name = kitchen_name = camera_name = ""
        if facts.school_id is not None:
            try:
                school = config.school(facts.school_id)
            except KeyError:
                school = None
            if school is not None:
                school_name = school.name
                kitchen_name = next(
                    (k.name for k in school.kitchens if k.id == facts.kitchen_id), ""
                )
        if event.camera_id is not None:
            try:
                camera_name = config.camera(event.camera_id).name
            except KeyError:
                camera_name = event.camera_id
        base = self._policy.base_url()
        return EventLine(
            event_id=event.id,
            kind=event.kind,
            type=event.type,
            type_label=self._policy.type_label(event.type),
            severity=str(facts.severity),
            severity_label=SEVERITY_LABELS.get(facts.severity, str(facts.severity)),
            school_id=facts.school_id,
            school_name=school_name or (facts.school_id or "全区"),
            town_id=facts.town_id,
            kitchen_name=kitchen_name,
            camera_id=event.camera_id,
            camera_name=camera_name,
            started_at=event.started_at,
            local_time=event.started_at.astimezone(self._tz).strftime("%Y-%m-%d %H:%M:%S"),
            console_url=f"{base}/events/{event.id}",
            ack_url=f"{base}/ack/{self._signer.sign(event.id, who=who, now=now)}",
            snapshot_key=event.snapshot_key,
            summary=_summary(event.detail),
        )

    def render(
        self,
        *,
        key: str,
        channel: str,
        address: str,
        level: str,
        school_id: str | None,
        recipients: tuple[RecipientRef, ...],
        events: list[Event],
        created_at: datetime,
        now: datetime,
    ) -> Outgoing:
        who = recipients[0].id if len(recipients) == 1 else channel
        lines = tuple(self.line(e, who=who, now=now) for e in events)
        brand = BRAND[:-1] + _LEVEL_TAGS.get(level, "") + BRAND[-1]
        first = lines[0]
        where = " ".join(p for p in (first.school_name, first.camera_name) if p)
        if len(lines) == 1:
            title = f"{brand}{where}：{first.type_label}（{first.severity_label}）"
            text = f"{title}{first.local_time}"
            body = [f"查看：{first.console_url}", f"确认：{first.ack_url}"]
            md = [
                f"### {brand}{first.school_name}",
                f"> **{first.camera_name or first.school_name}：{first.type_label}**"
                f"（{first.severity_label}）",
                f"> 时间：{first.local_time}",
                f"[查看详情]({first.console_url})　[一键确认]({first.ack_url})",
            ]
            if first.summary:
                body.insert(0, first.summary)
                md.insert(3, f"> {first.summary}")
        else:
            place = " ".join(p for p in (first.school_name, first.kitchen_name) if p)
            title = f"{brand}{place}：{len(lines)} 条告警"
            text = title
            body, md = [], [f"### {title}"]
            for n, item in enumerate(lines[:_MAX_LINES], 1):
                what = f"{item.type_label}（{item.severity_label}）"
                desc = f"{item.local_time} {item.camera_name}：{what}"
                body.append(f"{n}. {desc} 查看：{item.console_url} 确认：{item.ack_url}")
                md.append(f"{n}. {desc} [查看]({item.console_url}) [确认]({item.ack_url})")
            if len(lines) > _MAX_LINES:
                rest = f"……另有 {len(lines) - _MAX_LINES} 条，请在平台查看"
                body.append(rest)
                md.append(rest)
        if level != "school":
            note = "学校未在规定时间内确认，请督促处理。"
            body.append(note)
            md.append(f"> {note}")
        return Outgoing(
            key=key,
            channel=channel,
            address=address,
            level=level,
            school_id=school_id,
            recipients=recipients,
            events=lines,
            title=title,
            text="\n".join([text, *body]),
            markdown=_clip("\n".join(md)),
            created_at=created_at,
        )


def _clip(markdown: str) -> str:
    data = markdown.encode()
    if len(data) <= _MAX_MARKDOWN_BYTES:
        return markdown
    return data[: _MAX_MARKDOWN_BYTES - 10].decode(errors="ignore") + "\n……"


def _summary(detail: str | None) -> str:
    """An event's `detail.summary` (JSON), if it has one."""
    if not detail:
        return ""
    try:
        data = json.loads(detail)
    except ValueError:
        return ""
    summary = data.get("summary") if isinstance(data, dict) else None
    return str(summary)[:200] if summary else ""
