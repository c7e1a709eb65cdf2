"""Footage export for inspections: one MP4 for a camera and a time range."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import AwareDatetime, BaseModel, Field

from storage.export import (
    ExportError,
    ExportFailed,
    ExportResult,
    InvalidRange,
    NoFootage,
    UnknownCamera,
)
from web.deps import HubDep

router = APIRouter(prefix="/api/exports", tags=["exports"])


class ExportRequest(BaseModel):
    camera_id: str = Field(max_length=64)
    start: AwareDatetime = Field(description="ISO 8601 with offset, e.g. 2026-11-29T13:00:00+08:00")
    end: AwareDatetime


class GapView(BaseModel):
    start: datetime
    end: datetime
    reason: str
    detail: str


class ExportView(BaseModel):
    id: str
    camera_id: str
    start_at: datetime
    end_at: datetime
    media_start_at: datetime = Field(description="the keyframe the video starts at (media time 0)")
    media_end_at: datetime
    duration_s: float
    bytes: int
    sha256: str
    gaps: list[GapView]
    expires_at: datetime
    cached: bool
    download_url: str = Field(description="GET it for the MP4 (HTTP Range supported)")


def _view(result: ExportResult) -> ExportView:
    return ExportView(
        id=result.id,
        camera_id=result.camera_id,
        start_at=result.start_at,
        end_at=result.end_at,
        media_start_at=result.media_start_at,
        media_end_at=result.media_end_at,
        duration_s=result.duration_s,
        bytes=result.bytes,
        sha256=result.sha256,
        gaps=[
            GapView(start=g.start, end=g.end, reason=g.reason, detail=g.detail) for g in result.gaps
        ],
        expires_at=result.expires_at,
        cached=result.cached,
        download_url=f"/api/exports/{result.id}/file",
    )


def _http_error(exc: ExportError) -> HTTPException:
    if isinstance(exc, UnknownCamera):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, (InvalidRange, NoFootage)):
        return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc))
    if isinstance(exc, ExportFailed) and exc.retriable:
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))
    return HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR, str(exc))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_export(request: ExportRequest, hub: HubDep) -> ExportView:
    try:
        result = await hub.exporter.export(
            request.camera_id, request.start, request.end, actor="api"
        )
    except ExportError as exc:
        raise _http_error(exc) from exc
    return _view(result)


@router.get("/{export_id}")
async def get_export(export_id: str, hub: HubDep) -> ExportView:
    result = await hub.exporter.get(export_id)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such export (or it expired)")
    return _view(result)


@router.get("/{export_id}/file", response_model=None)
async def download_export(export_id: str, hub: HubDep) -> Response:
    result = await hub.exporter.get(export_id)
    if result is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such export (or it expired)")
    if result.download_url is not None:  # S3: the browser fetches it from the store
        return RedirectResponse(result.download_url, status.HTTP_307_TEMPORARY_REDIRECT)
    path = await hub.store.open_local(result.object_key)
    if path is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "export file is gone")
    # FileResponse answers Range requests (206) so players can seek in long exports.
    return FileResponse(
        path, media_type="video/mp4", filename=f"{result.camera_id}-{result.id}.mp4"
    )
