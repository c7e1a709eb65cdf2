"""`bkhub storage ...`: integrity checks, exports, legal holds and retention from a terminal.

These work on the database and object store directly, so they run with or without a hub
serving the same config.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from hub.config import HubConfig
from hub.maintenance import retention_policy
from storage.db.database import Database
from storage.export import ExportError, FootageExporter
from storage.objectstore import ObjectStore, ObjectStoreError, build_object_store
from storage.retention import apply_retention, set_legal_hold
from storage.spool import Spool
from storage.verify import verify_storage

T = TypeVar("T")


def parse_time(text: str, tz: ZoneInfo) -> datetime:
    """ISO 8601; without an offset the time is read in the district's time zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time: {text!r} (e.g. 2026-11-29T13:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=tz)


async def with_storage(
    config: HubConfig, work: Callable[[Database, ObjectStore], Awaitable[T]]
) -> T:
    db = Database(config.database.url)
    await db.start()
    try:
        store = build_object_store(config.storage.object_store)
        await store.start()
        return await work(db, store)
    finally:
        await db.stop()


def _spool(config: HubConfig) -> Spool:
    return Spool(Path(config.recording.spool_dir), tz=ZoneInfo(config.district.timezone))


def run(config: HubConfig, args: argparse.Namespace) -> int:
    tz = ZoneInfo(config.district.timezone)
    try:
        return asyncio.run(_COMMANDS[args.storage_command](config, args, tz))
    except (ExportError, ObjectStoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


async def _verify(config: HubConfig, args: argparse.Namespace, tz: ZoneInfo) -> int:
    spool = _spool(config)
    report = await with_storage(
        config, lambda db, store: verify_storage(db, store, spool=spool.ready_path)
    )
    print(report)
    return 0 if report.ok else 1


async def _export(config: HubConfig, args: argparse.Namespace, tz: ZoneInfo) -> int:
    spool = _spool(config)

    async def work(db: Database, store: ObjectStore) -> int:
        exporter = FootageExporter(
            db, store, work_dir=spool.root / "export-work", spool=spool.ready_path
        )
        result = await exporter.export(
            args.camera, parse_time(args.start, tz), parse_time(args.end, tz), actor=args.by
        )

        def local(moment: datetime) -> str:
            return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")

        print(f"export {result.id}: {result.object_key}")
        print(
            f"  video {local(result.media_start_at)} – {local(result.media_end_at)}"
            f" ({result.duration_s:.1f} s, {result.bytes / 1e6:.1f} MB)"
        )
        for gap in result.gaps:
            print(f"  gap   {local(gap.start)} – {local(gap.end)}: {gap.reason} {gap.detail}")
        if result.download_url:
            print(f"  url   {result.download_url}")
        if args.out:
            await store.get_file(result.object_key, Path(args.out))
            print(f"  saved {args.out}")
        return 0

    return await with_storage(config, work)


async def _hold(config: HubConfig, args: argparse.Namespace, tz: ZoneInfo) -> int:
    async def work(db: Database, store: ObjectStore) -> int:
        count = await set_legal_hold(
            db,
            store,
            args.camera,
            parse_time(args.start, tz),
            parse_time(args.end, tz),
            on=args.storage_command == "hold",
            actor=args.by,
            now=datetime.now(UTC),
        )
        verb = "held" if args.storage_command == "hold" else "released"
        print(f"{count} segment(s) of {args.camera} {verb}")
        return 0

    return await with_storage(config, work)


async def _retention(config: HubConfig, args: argparse.Namespace, tz: ZoneInfo) -> int:
    policy = retention_policy(config)
    report = await with_storage(
        config, lambda db, store: apply_retention(db, store, policy, now=datetime.now(UTC))
    )
    print(
        f"deleted {report.deleted} segment(s), {report.bytes_freed / 1e6:.1f} MB freed; "
        f"{report.kept_on_hold} expired segment(s) kept under legal hold"
    )
    return 0


_COMMANDS: dict[
    str, Callable[[HubConfig, argparse.Namespace, ZoneInfo], Coroutine[Any, Any, int]]
] = {
    "verify": _verify,
    "export": _export,
    "hold": _hold,
    "release": _hold,
    "retention": _retention,
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    storage = sub.add_parser("storage", help="verify, export, hold footage, apply retention")
    commands = storage.add_subparsers(dest="storage_command", required=True)
    commands.add_parser("verify", help="report missing, corrupt and orphaned objects")
    commands.add_parser("retention", help="delete expired recordings now")
    for name, text in (
        ("export", "one MP4 of a camera's footage for a time range"),
        ("hold", "put a camera's footage in a time range under legal hold"),
        ("release", "release a legal hold"),
    ):
        cmd = commands.add_parser(name, help=text)
        cmd.add_argument("--camera", required=True)
        cmd.add_argument("--from", dest="start", required=True, help="e.g. 2026-11-29T13:00")
        cmd.add_argument("--to", dest="end", required=True)
        cmd.add_argument("--by", default="cli", help="who asks (recorded in the audit log)")
        if name == "export":
            cmd.add_argument("--out", help="also save the MP4 to this file")
    return storage
