"""GET /metrics: Prometheus's text format, with the outbox depth read when scraped."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from api.mail import outbox
from api.metrics import OUTBOX_DEPTH


async def metrics_endpoint(request: Request) -> Response:
    try:
        for status, count in (await outbox.depth()).items():
            OUTBOX_DEPTH.labels(status=status.value.lower()).set(count)
    except Exception:  # the database may be down; still serve the process metrics
        OUTBOX_DEPTH.clear()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
