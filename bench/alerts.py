"""Event-to-receiver latency of every alert channel on loopback, and an outage run.

    .venv/bin/python bench/alerts.py [--events 200] [--rate 20] [--db URL]
    .venv/bin/python bench/alerts.py --outage 300      # webhook down 5 minutes, then back

Latency: raises N events (3 schools, round robin) through `AlertService.raise_event`, each in
its own transaction as the detector will, and times each from the call to its arrival at the
receivers: the WeCom and DingTalk robot stand-ins and the signed webhook (one HTTP server),
aiosmtpd, the Mosquitto broker on 127.0.0.1:1883 (a subscriber), and the console stream.
Prints p50/p95/max per channel. Outage: the webhook receiver is down for the given seconds
while one event a second is raised; then it returns, and the run checks that every alert
arrived exactly once (by idempotency key) and in order per school.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' receivers

import aiomqtt

# Run as a script, this folder comes first on sys.path, and bench/storage.py would shadow the
# `storage` package: the repository root goes first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.alerts import AlertService
from storage.db.database import Database
from tests.alert_receivers import (
    DINGTALK_SECRET,
    WEBHOOK_SECRET,
    HttpReceiver,
    SmtpReceiver,
)
from tests.alerting import hub_config, routing, seed_registry, violation

CAMERAS = ("dcxx-hot", "dcyey-hot", "sfsy-hot")
_EVENT_ID = re.compile(r"/events/([0-9a-f]{32})")


def _channels(http: HttpReceiver, smtp: SmtpReceiver | None, prefix: str) -> list[dict[str, Any]]:
    channels: list[dict[str, Any]] = [
        {"type": "wecom", "url": http.wecom_url},
        {"type": "dingtalk", "url": http.dingtalk_url, "secret": DINGTALK_SECRET},
        {"type": "webhook", "url": http.hook_url, "secret": WEBHOOK_SECRET},
        {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic_prefix": prefix},
        {"type": "console"},
    ]
    if smtp is not None:
        channels.append(
            {"type": "smtp", "host": "127.0.0.1", "port": smtp.port, "security": "none"}
        )
    return channels


async def _start(db_url: str, alerts: dict[str, Any]) -> tuple[Database, AlertService]:
    db = Database(db_url)
    await db.start()
    config = hub_config(alerts)
    await seed_registry(db, config)
    service = AlertService(config, db)
    await service.start()
    return db, service


def _text(mail: Any) -> str:
    body = mail.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def latency(args: argparse.Namespace, db_url: str) -> None:
    http, smtp = HttpReceiver().start(), SmtpReceiver().start()
    prefix = f"bkhub-bench/{uuid.uuid4().hex[:8]}"
    db, service = await _start(db_url, routing(_channels(http, smtp, prefix)))
    arrivals: dict[str, dict[str, float]] = {}  # channel -> event id -> arrival time
    smtp_seen: set[int] = set()

    def arrived(channel: str, event_id: str, at: float) -> None:
        arrivals.setdefault(channel, {}).setdefault(event_id, at)

    live = service.bus.subscribe()
    async with aiomqtt.Client("127.0.0.1", 1883) as sub:
        await sub.subscribe(f"{prefix}/#", qos=1)

        async def mqtt_reader() -> None:
            async for message in sub.messages:
                body = json.loads(message.payload)  # type: ignore[arg-type]
                arrived("mqtt", body["events"][0]["event_id"], time.time())

        async def console_reader() -> None:
            while True:
                body = await live.get()
                arrived("console", body["events"][0]["event_id"], time.time())

        readers = [asyncio.create_task(mqtt_reader()), asyncio.create_task(console_reader())]
        raised: dict[str, float] = {}
        for n in range(args.events):
            started = time.time()
            async with db.session() as session:
                event = await service.raise_event(session, violation(CAMERAS[n % 3], "rat"))
            raised[event.id] = started
            await asyncio.sleep(max(0.0, 1 / args.rate - (time.time() - started)))
        deadline = time.time() + 30
        while time.time() < deadline:
            for m in http.messages:
                channel = {"/cgi-bin/webhook/send": "wecom", "/robot/send": "dingtalk"}.get(
                    m.path, "webhook"
                )
                text = json.dumps(m.body, ensure_ascii=False)
                if found := _EVENT_ID.search(text):
                    arrived(channel, found.group(1), m.at)
            for i, mail in enumerate(smtp.mails):
                if i not in smtp_seen and (found := _EVENT_ID.search(_text(mail))):
                    smtp_seen.add(i)
                    arrived("smtp", found.group(1), float(mail["X-Arrived"]))
            if all(len(arrivals.get(c, {})) == len(raised) for c in _NAMES):
                break
            await asyncio.sleep(0.2)
        for task in readers:
            task.cancel()
    await service.stop()
    await db.stop()
    http.stop()
    smtp.stop()
    print(f"{args.events} events at {args.rate}/s, database {db_url.split(':')[0]}")
    print(f"{'channel':<10} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for channel in _NAMES:
        got = arrivals.get(channel, {})
        lat = [(got[e] - raised[e]) * 1000 for e in raised if e in got]
        if not lat:
            print(f"{channel:<10} {0:>5} {'-':>8} {'-':>8} {'-':>8}")
            continue
        print(
            f"{channel:<10} {len(lat):>5} {statistics.median(lat):>8.1f} "
            f"{_pct(lat, 0.95):>8.1f} {max(lat):>8.1f}"
        )


_NAMES = ("wecom", "dingtalk", "webhook", "smtp", "mqtt", "console")


async def outage(args: argparse.Namespace, db_url: str) -> None:
    http = HttpReceiver().start()
    hook = {"type": "webhook", "url": http.hook_url, "secret": WEBHOOK_SECRET}
    alerts = routing(
        [hook],
        delivery={"poll_s": 1, "backoff_initial_s": 1, "backoff_max_s": 30},
        types={"rat": {"escalate": False}},  # school-level alerts only: one per event
    )
    db, service = await _start(db_url, alerts)
    http.stop()
    print(f"webhook receiver down for {args.outage} s; one event a second")
    raised: list[tuple[str, str]] = []
    t0 = time.time()
    n = 0
    while time.time() - t0 < args.outage:
        async with db.session() as session:
            event = await service.raise_event(session, violation(CAMERAS[n % 3], "rat"))
        raised.append((CAMERAS[n % 3].split("-")[0], event.id))
        n += 1
        await asyncio.sleep(1)
    health = service.health["webhook"]
    print(f"during the outage: health {health.state}, {health.retries} failed attempts")
    back = time.time()
    http.start()
    for _ in range(600):  # up to 2 minutes to drain
        if len(http.unique()) >= len(raised):
            break
        await asyncio.sleep(0.2)
    drained = time.time() - back
    await asyncio.sleep(2)
    await service.stop()
    await db.stop()
    http.stop()
    dupes = sum(c - 1 for c in http.keys.values())
    in_order = all(
        [m.body["events"][0]["event_id"] for m in http.unique() if m.body["school_id"] == s]
        == [e for school, e in raised if school == s]
        for s in ("dcxx", "dcyey", "sfsy")
    )
    print(
        f"after it returned: {len(http.unique())}/{len(raised)} alerts in {drained:.1f} s, "
        f"duplicates {dupes}, in order per school: {in_order}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="events per second")
    parser.add_argument("--db", default=None, help="database URL (default: temp SQLite)")
    parser.add_argument("--outage", type=float, default=0, help="seconds the webhook is down")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.db or f"sqlite+aiosqlite:///{tmp}/bench.db"
        asyncio.run(outage(args, db_url) if args.outage else latency(args, db_url))


if __name__ == "__main__":
    main()
