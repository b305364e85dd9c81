"""The GraphQL schema: its root types, built for the configured execution path."""

from __future__ import annotations

import strawberry
from strawberry.schema.config import StrawberryConfig

from api.graphql.dnc.mutations import DncMutation
from api.graphql.dnc.queries import DncQuery
from api.graphql.dnc.subscriptions import DncSubscription
from api.graphql.engine.inputs import EngineConfig, install_input_builders
from api.graphql.engine.schema import FastSchema
from api.graphql.execution import DocumentRules, Schema, stock_extensions
from api.graphql.platform.queries import PlatformQuery
from api.settings import Settings


@strawberry.type(description="Reading the organization's Do-Not-Call list.")
class Query(PlatformQuery, DncQuery):
    pass


@strawberry.type(description="Changing the organization's Do-Not-Call list.")
class Mutation(DncMutation):
    pass


@strawberry.type(description="The organization's list, live.")
class Subscription(DncSubscription):
    pass


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema with the settings' introspection, suggestions and document rules; on the
    engine (`GRAPHQL_FAST_PATH`, the default) or on strawberry's own execution."""
    settings = settings or Settings()
    rules = DocumentRules.of(settings)
    suggestions = not settings.field_suggestions
    if not settings.graphql_fast_path:
        return Schema(
            query=Query,
            mutation=Mutation,
            subscription=Subscription,
            extensions=stock_extensions(rules),
            config=StrawberryConfig(disable_field_suggestions=suggestions),
        )
    schema = FastSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        rules=rules,
        extensions=stock_extensions(rules),
        config=EngineConfig(disable_field_suggestions=suggestions),
    )
    install_input_builders(schema)
    return schema


def schema_sdl() -> str:
    """The SDL committed as schema.graphql."""
    return build_schema().as_str() + "\n"
