"""The ASGI application: what one API process runs.

GraphQL at /graphql (HTTP and websockets) and its GraphiQL assets; the CSV export, health,
readiness and metrics routes; request ids and CORS around them; and in the background the
event broker and the worker (expiries, email delivery).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from api.graphql import graphiql
from api.graphql.endpoint import graphql_endpoint
from api.http.export import export_csv
from api.http.health import healthz, readyz
from api.http.metrics import metrics_endpoint
from api.http.request_id import RequestIdMiddleware
from api.logs import tag_log_records
from api.runtime.broker import EventBroker
from api.runtime.worker import Worker
from api.settings import Settings
from api.store import database


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
    graphql = graphql_endpoint(settings, worker, broker)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await database.init_orm(settings.database_url, settings.db_pool_size)
        await broker.start()
        worker.start()
        try:
            yield
        finally:
            await worker.stop()
            await broker.stop()
            await database.close_orm()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
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
