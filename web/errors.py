"""JSON errors everywhere: every 4xx/5xx body is {"error": {"code", "message", ...}}.

`message` is English, `message_zh` the console's zh-CN text; `code` is stable for clients.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

__all__ = ["ERROR_RESPONSES", "ApiError", "ErrorBody", "install_error_handlers"]

log = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_S: Final = 5

_CODES: Final[dict[int, tuple[str, str]]] = {
    400: ("bad_request", "请求无效"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限"),
    404: ("not_found", "未找到"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "与现有数据冲突"),
    413: ("too_large", "请求过大"),
    422: ("validation_error", "请求参数有误"),
    429: ("rate_limited", "尝试次数过多，请稍后再试"),
    500: ("internal_error", "服务器内部错误"),
    503: ("unavailable", "服务暂不可用"),
}


class ErrorDetail(BaseModel):
    code: str
    message: str
    message_zh: str | None = None
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# For routers' `responses=`: documents the error shape in the OpenAPI spec.
ERROR_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    status: {"model": ErrorBody} for status in (401, 403, 404, 422)
}


class ApiError(HTTPException):
    """An HTTP error with a stable code and a zh-CN message for the console."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        zh: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message, headers)
        self.code = code
        self.zh = zh


def store_unavailable() -> ApiError:
    """The object store did not answer: the same 503 from every route that reads or writes it."""
    return ApiError(
        503, "unavailable", "object store unavailable; try again", zh="存储暂不可用，请稍后重试"
    )


def _body(status: int, code: str | None, message: str, zh: str | None, **extra: Any) -> Any:
    default_code, default_zh = _CODES.get(status, ("error", None))
    detail = ErrorDetail(
        code=code or default_code, message=message, message_zh=zh or default_zh, **extra
    )
    return ErrorBody(error=detail).model_dump(mode="json", exclude_none=True)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = getattr(exc, "code", None)
    zh = getattr(exc, "zh", None)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse(
        _body(exc.status_code, code, message, zh),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # loc/msg/type only: echoing `input` back could reflect a password or raw bytes.
    details = [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    return JSONResponse(
        _body(422, None, "request validation failed", None, details=details), status_code=422
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A locked SQLite file past its busy timeout, or a PostgreSQL that went away: the request
    # changed nothing (its transaction rolled back) and may simply be sent again.
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    body = _body(503, "database_unavailable", "the database is busy or unavailable; retry",
                 "数据库繁忙或不可用，请稍后重试")  # fmt: skip
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
    return JSONResponse(body, status_code=503, headers=headers)


async def _internal_error(_request: Request, _exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this response, so the server logs it once.
    return JSONResponse(_body(500, None, "internal error", None), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(Exception, _internal_error)
