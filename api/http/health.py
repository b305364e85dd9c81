"""Liveness and readiness, for the orchestrator."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.store.database import ping


async def healthz(request: Request) -> Response:
    """200 while the process runs."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """200 only while the database answers."""
    if await ping():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "database unavailable"}, status_code=503)
