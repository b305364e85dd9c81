"""The /graphql endpoint as configured: on the engine (`GRAPHQL_FAST_PATH=true`, the default)
or on strawberry's own view and execution."""

from __future__ import annotations

from api.graphql.engine.view import FastGraphQLView
from api.graphql.view import GraphQLView
from api.runtime.broker import EventBroker
from api.runtime.worker import Worker
from api.settings import Settings


def graphql_endpoint(settings: Settings, worker: Worker, broker: EventBroker) -> GraphQLView:
    """The ASGI app serving GraphQL over HTTP and graphql-transport-ws."""
    view = FastGraphQLView if settings.graphql_fast_path else GraphQLView
    return view(settings, worker, broker)
