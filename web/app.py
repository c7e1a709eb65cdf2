"""The hub's HTTP API. The hub is built and started in the app's lifespan and reached by
route handlers through request state (web.deps), never through globals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub.config import HubConfig
from hub.runtime import Hub
from web.routes import cameras, health


def create_app(config: HubConfig) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[dict[str, Hub]]:
        hub = Hub(config)
        await hub.start()
        try:
            yield {"hub": hub}
        finally:
            await hub.stop()

    app = FastAPI(title="Bright Kitchen Hub 明厨亮灶视频监管平台", lifespan=lifespan)
    for module in (health, cameras):
        app.include_router(module.router)
    return app
