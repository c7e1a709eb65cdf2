"""Runs an AlertService (delivery worker and escalation) until killed: the hub of the crash and
several-workers tests, which start it with `spawn` and end it with `kill`.

python -m tests.alert_worker_proc DB_URL ALERTS_JSON
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from hub.alerts import AlertService
from storage.db.database import Database
from tests.alerting import hub_config

REPO = Path(__file__).resolve().parent.parent


async def spawn(db_url: str, alerts: dict[str, object]) -> asyncio.subprocess.Process:
    """A worker process, once it says it is ready."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.alert_worker_proc",
        db_url,
        json.dumps(alerts),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(30):
        assert (await proc.stdout.readline()).strip() == b"ready"
    return proc


async def kill(proc: asyncio.subprocess.Process) -> None:
    """kill -9, as a crash."""
    if proc.returncode is None:
        os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()


async def main(db_url: str, alerts: str) -> None:
    db = Database(db_url)
    await db.start()
    service = AlertService(hub_config(json.loads(alerts)), db)
    await service.start()
    print("ready", flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
