"""GET /export/dnc.csv: the caller's organization's list as CSV, streamed, for its admins."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from api.auth import AuthenticationFailed, authenticate
from api.dnc.export import export_filename, parse_status
from api.instants import utcnow
from api.store.database import UNAVAILABLE_MESSAGE, is_unavailable
from api.store.export import csv_chunks

log = logging.getLogger(__name__)

MEDIA_TYPE = "text/csv; charset=utf-8"


async def export_csv(request: Request) -> Response:
    """GET /export/dnc.csv: the caller's organization's list, for its admins only."""
    try:
        viewer = await authenticate(
            request.headers.get("authorization"), request.app.state.settings
        )
    except AuthenticationFailed as refusal:
        log.info("export refused: %s", refusal)
        return PlainTextResponse(
            "Authentication required.", status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.warning("export refused, database unavailable: %s", error)
        return PlainTextResponse(UNAVAILABLE_MESSAGE, status_code=503, headers={"Retry-After": "5"})
    if not viewer.is_admin:
        return PlainTextResponse("Only an organization's admins may export its list.", 403)
    try:
        status = parse_status(request.query_params.get("status"))
    except ValueError as error:
        return PlainTextResponse(str(error), status_code=400)
    # An export of the whole list is something an auditor asks about.
    log.info(
        "export of organization %s (status %s) by user %s",
        viewer.organization_id,
        status or "all",
        viewer.user_id,
    )
    filename = export_filename(status, utcnow())
    return StreamingResponse(
        csv_chunks(organization_id=viewer.organization_id, status=status),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
