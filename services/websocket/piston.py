"""The Piston v2 API at `/api/v2`: a thin adapter over the job service (docs/compat.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["piston"])
