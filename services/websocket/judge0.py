"""The Judge0 CE 1.13.1 API at `/judge0`: a thin adapter over the job service (docs/compat.md)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["judge0"])
