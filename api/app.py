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
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api import db, graphiql
from api.context import Context
from api.mail.delivery import Deliverer
from api.metrics import metrics_endpoint
from api.observability import RequestIdMiddleware, tag_log_records
from api.schema import build_schema
from api.settings import Settings

log = logging.getLogger(__name__)


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings, deliverer: Deliverer) -> None:
        super().__init__(
            build_schema(
                introspection=settings.introspection, field_suggestions=settings.field_suggestions
            ),
            graphql_ide="graphiql" if settings.graphiql else None,
        )
        self.settings = settings
        self.deliverer = deliverer

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            request=request, response=response, settings=self.settings, deliverer=self.deliverer
        )

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
    deliverer = Deliverer(settings)
    graphql_app = GraphQLApp(settings, deliverer)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.init_orm(settings.database_url, settings.db_pool_size)
        deliverer.start()
        try:
            yield
        finally:
            await deliverer.stop()
            await db.close_orm()

    graphql_endpoint = Route("/graphql", graphql_app, methods=["GET", "POST"])
    app = Starlette(
        routes=[
            graphql_endpoint,
            Route(f"{graphiql.ASSETS_PATH}/{{name}}", graphiql.asset),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
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
    app.state.deliverer = deliverer
    return app
