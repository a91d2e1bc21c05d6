"""REST routes: job creation and liveness."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from lib import tokens


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def create_job(request: Request) -> JSONResponse:
    state = request.app.state
    if not state.api_keys.check(request.headers.get("x-api-key")):
        return error_response(401, "auth", "missing or invalid X-API-Key header")
    settings = state.settings
    issued = tokens.issue(
        settings.jwt_secret.get_secret_value(), tokens.new_job_id(), settings.job_token_ttl_s
    )
    return JSONResponse(
        {
            "job_id": issued.job_id,
            "job_token": issued.token,
            "expires_at": issued.expires_at.isoformat().replace("+00:00", "Z"),
        }
    )


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})
