"""Footage export for inspections: one MP4 for a camera and a time range."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
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
from storage.objectstore import ObjectStoreError
from web.auth import CurrentUser, ensure_camera_visible, not_found
from web.deps import HubDep
from web.errors import ERROR_RESPONSES, ApiError
from web.params import RandomId

router = APIRouter(prefix="/api/exports", tags=["exports"], responses=ERROR_RESPONSES)


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


def _api_error(exc: ExportError) -> ApiError:
    if isinstance(exc, UnknownCamera):
        return not_found("camera")
    if isinstance(exc, InvalidRange):
        return ApiError(422, "invalid_range", str(exc), zh="时间范围无效")
    if isinstance(exc, NoFootage):
        return ApiError(422, "no_footage", str(exc), zh="该时间段没有录像")
    if isinstance(exc, ExportFailed) and exc.retriable:
        return ApiError(503, "unavailable", str(exc), zh="存储暂不可用，请稍后再试")
    return ApiError(500, "export_failed", str(exc), zh="导出失败")


async def _visible_export(export_id: str, user: CurrentUser, hub: HubDep) -> ExportResult:
    """The export, or 404 when it is unknown, expired or of a camera outside the scope."""
    result = await hub.exporter.get(export_id)
    if result is None:
        raise not_found("export")
    ensure_camera_visible(user, result.camera_id, hub.config)
    return result


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_export(request: ExportRequest, user: CurrentUser, hub: HubDep) -> ExportView:
    # Scope first: a camera outside it is "not found", whatever the range says.
    ensure_camera_visible(user, request.camera_id, hub.config)
    try:
        result = await hub.exporter.export(
            request.camera_id, request.start, request.end, actor=user.username
        )
    except ExportError as exc:
        raise _api_error(exc) from exc
    return _view(result)


@router.get("/{export_id}")
async def get_export(export_id: RandomId, user: CurrentUser, hub: HubDep) -> ExportView:
    return _view(await _visible_export(export_id, user, hub))


@router.get("/{export_id}/file", response_model=None)
async def download_export(export_id: RandomId, user: CurrentUser, hub: HubDep) -> Response:
    result = await _visible_export(export_id, user, hub)
    if result.download_url is not None:  # S3: the browser fetches it from the store
        return RedirectResponse(result.download_url, status.HTTP_307_TEMPORARY_REDIRECT)
    try:
        path = await hub.store.open_local(result.object_key)
    except ObjectStoreError:
        path = None
    if path is None:
        raise not_found("export file")
    # FileResponse answers Range requests (206) so players can seek in long exports.
    return FileResponse(
        path, media_type="video/mp4", filename=f"{result.camera_id}-{result.id}.mp4"
    )
