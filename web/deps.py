"""FastAPI dependencies: the running hub comes from the lifespan state, never a global."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hub.runtime import Hub


def get_hub(request: Request) -> Hub:
    hub: Hub = request.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]
