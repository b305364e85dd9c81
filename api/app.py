"""The ASGI application: GraphQL at /graphql, health, metrics, and the outbox deliverer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from api import db, graphiql
from api.dnc.broker import EventBroker
from api.dnc.export import export_csv
from api.metrics import metrics_endpoint
from api.observability import RequestIdMiddleware, tag_log_records
from api.settings import Settings
from api.view import GraphQLApp
from api.worker import Worker

log = logging.getLogger(__name__)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    if await db.ping():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "database unavailable"}, status_code=503)


def _cors(settings: Settings) -> list[Middleware]:
    """Grants for the configured origins; with none, no middleware at all (it would grant
    nothing, at a cost on every request)."""
    if not settings.cors_origins:
        return []
    cors = Middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID"],
        max_age=600,
    )
    return [cors]


def create_app(settings: Settings | None = None) -> Starlette:
    """The service; settings default to the environment's."""
    settings = (settings or Settings.from_env()).with_dev_secret()
    tag_log_records()
    broker = EventBroker(settings)
    worker = Worker(settings, broker)
    graphql_app = GraphQLApp(settings, worker, broker)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.init_orm(settings.database_url, settings.db_pool_size)
        await broker.start()
        worker.start()
        try:
            yield
        finally:
            await worker.stop()
            await broker.stop()
            await db.close_orm()

    app = Starlette(
        routes=[
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql_app),
            Route(f"{graphiql.ASSETS_PATH}/{{name}}", graphiql.asset),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
            Route("/export/dnc.csv", export_csv),
        ],
        middleware=[Middleware(RequestIdMiddleware), *_cors(settings)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.worker = worker
    app.state.broker = broker
    return app
