"""The hub's HTTP API. The hub is built and started in the app's lifespan and reached by
route handlers through request state (web.deps), never through globals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hub.config import HubConfig
from hub.runtime import Hub
from web.auth import Auth
from web.errors import install_error_handlers
from web.live import live_viewers_for
from web.routes import (
    alerts,
    audit,
    auth,
    camera_health,
    cameras,
    events,
    exports,
    frames,
    health,
    live,
    reports,
    supervision,
    supervisor_links,
    suppression,
    tokens,
    tree,
    users,
    verdicts,
    watch,
)

STATIC_DIR = Path(__file__).with_name("static")  # the console: plain files, no build step


def create_app(config: HubConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, object]]:
        hub = Hub(config)
        await hub.start()
        viewers = live_viewers_for(hub)
        viewers.start()
        try:
            accounts = Auth(hub.db, config.web)
            await accounts.start()  # the first start creates the admin and prints its password
            yield {"hub": hub, "live": viewers, "auth": accounts}
        finally:
            await viewers.stop()  # before the hub: viewers read its camera pulls
            await hub.stop()

    app = FastAPI(title="Bright Kitchen Hub 明厨亮灶视频监管平台", lifespan=lifespan)
    install_error_handlers(app)
    routers = (
        health,
        auth,
        tokens,
        users,
        cameras,
        tree,
        events,
        audit,
        exports,
        live,
        alerts,
        supervision,
        reports,
        verdicts,
        supervisor_links,
        watch,
        frames,
        suppression,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(camera_health.router)  # /api/health/...: camera and hub health
    # Last: the console at "/" only answers what no API route took.
    app.mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="console")
    return app
