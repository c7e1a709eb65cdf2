"""Runs an AlertService (delivery worker and escalation) until killed: the crash test's hub.

python -m tests.alert_worker_proc DB_URL ALERTS_JSON
"""

from __future__ import annotations

import asyncio
import json
import sys

from hub.alerts import AlertService
from storage.db.database import Database
from tests.alerting import hub_config


async def main(db_url: str, alerts: str) -> None:
    db = Database(db_url)
    await db.start()
    service = AlertService(hub_config(json.loads(alerts)), db)
    await service.start()
    print("ready", flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
