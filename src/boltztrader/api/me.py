"""``/v1/me``: who the bearer token belongs to (the dashboard shows it and picks its tabs by role)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from boltztrader.api.auth import CurrentPrincipal

router = APIRouter(prefix="/v1/me", tags=["users"])


class MeOut(BaseModel):
    user_id: str
    email: str
    role: str = Field(description="user or admin")


@router.get("", response_model=MeOut, summary="The user behind the token")
async def get_me(principal: CurrentPrincipal) -> MeOut:
    """The token's user: id, email and role."""
    return MeOut(user_id=principal.user_id, email=principal.email, role=str(principal.role))
