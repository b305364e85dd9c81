"""The ASGI application: GraphQL at /graphql, health, metrics, and the outbox deliverer."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from api import db, graphiql
from api.auth import AuthenticationFailed
from api.context import Context
from api.dnc.broker import EventBroker
from api.dnc.export import export_csv
from api.metrics import metrics_endpoint
from api.observability import RequestIdMiddleware, tag_log_records
from api.schema import build_schema
from api.settings import Settings
from api.worker import Worker

log = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings, worker: Worker, broker: EventBroker) -> None:
        super().__init__(
            build_schema(
                introspection=settings.introspection, field_suggestions=settings.field_suggestions
            ),
            graphql_ide="graphiql" if settings.graphiql else None,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=20,
        )
        self.settings = settings
        self.worker = worker
        self.broker = broker

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            worker=self.worker,
            broker=self.broker,
        )

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """A socket is accepted only with a valid token in connection_init (else 4403)."""
        try:
            await context.viewer()
        except AuthenticationFailed:
            raise ConnectionRejectionError({"message": "Authentication required."}) from None
        return None

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql.page()


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    if await db.ping():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "database unavailable"}, status_code=503)


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
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID"],
                max_age=600,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.worker = worker
    app.state.broker = broker
    return app
