"""API tokens for machine clients: each acts as the user who made it, with their scope."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from storage.db.models_accounts import ApiToken
from web.auth import AuthDep, CurrentUser, Via, audit, not_found
from web.errors import ERROR_RESPONSES, ApiError
from web.params import RandomId

router = APIRouter(prefix="/api/auth/tokens", tags=["auth"], responses=ERROR_RESPONSES)


class TokenCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="What the token is for")
    days: int = Field(default=90, ge=1, le=3650, description="Lifetime in days")


class TokenView(BaseModel):
    id: str
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None


class NewToken(TokenView):
    token: str = Field(description="The secret, shown only in this response")


def _view(row: ApiToken) -> TokenView:
    return TokenView(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


@router.get("")
async def list_tokens(user: CurrentUser, auth: AuthDep) -> list[TokenView]:
    """The caller's own API tokens (never their secrets)."""
    async with auth.db.session() as s:
        rows = await s.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
        )
        return [_view(r) for r in rows]


@router.post("", status_code=201)
async def create_token(body: TokenCreate, user: CurrentUser, auth: AuthDep) -> NewToken:
    """A new API token for the caller; send it as `Authorization: Bearer <token>`."""
    if user.via is not Via.SESSION:
        # A leaked token must not be able to mint more tokens that outlive its revocation.
        raise ApiError(403, "forbidden", "log in with a password to create API tokens")
    if body.days > auth.config.api_token_max_days:
        raise ApiError(422, "validation_error", f"at most {auth.config.api_token_max_days} days")
    row, secret = await auth.issue_token(user, body.name, body.days)
    return NewToken(**_view(row).model_dump(), token=secret)


@router.delete("/{token_id}", status_code=204)
async def revoke_token(token_id: RandomId, user: CurrentUser, auth: AuthDep) -> None:
    """Revoke one of the caller's API tokens."""
    async with auth.db.session() as s:
        row = await s.get(ApiToken, token_id)
        if row is None or row.user_id != user.id:
            raise not_found("token")
        await s.delete(row)
        audit(
            s, at=auth.now(), actor=user.username, action="token_revoke", detail={"token": token_id}
        )
