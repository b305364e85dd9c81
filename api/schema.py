"""The GraphQL schema: the root types, the extensions, and error logging."""

from __future__ import annotations

import logging
import re
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from api.dnc.mutations import DncMutation
from api.dnc.queries import DncQuery
from api.dnc.subscriptions import DncSubscription
from api.errors import MaskUnexpectedErrors, is_expected
from api.metrics import OperationMetrics
from api.platform.queries import PlatformQuery

log = logging.getLogger("api.graphql")


@strawberry.type(description="Reading the organization's Do-Not-Call list.")
class Query(PlatformQuery, DncQuery):
    pass


@strawberry.type(description="Changing the organization's Do-Not-Call list.")
class Mutation(DncMutation):
    pass


@strawberry.type(description="The organization's list, live.")
class Subscription(DncSubscription):
    pass


_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class Schema(strawberry.Schema):
    """Logs unexpected errors with their traceback (and request id); expected ones briefly.

    With suggestions off, every "Did you mean ...?" goes (strawberry only trims those of
    unknown fields; unknown arguments, input fields, enum values and types suggest too).
    """

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        if self.config.disable_field_suggestions:
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)
        for error in errors:
            if is_expected(error):
                log.info("graphql error: %s", error.message)
            else:
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(*, introspection: bool = True, field_suggestions: bool = True) -> Schema:
    extensions: list[Any] = [OperationMetrics, MaskUnexpectedErrors]
    if not introspection:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not field_suggestions),
    )


def schema_sdl() -> str:
    """The SDL committed as schema.graphql."""
    return build_schema().as_str() + "\n"
