"""The GraphQL schema: the root types, the extensions, and error logging."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import partial
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError, GraphQLSyntaxError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import max_aliases, query_depth_limiter
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from api.db import is_unavailable
from api.dnc.mutations import DncMutation
from api.dnc.queries import DncQuery
from api.dnc.subscriptions import DncSubscription
from api.documents import Documents
from api.errors import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    MaskUnexpectedErrors,
    is_expected,
)
from api.execution import Executor
from api.metrics import OperationMetrics
from api.platform.queries import PlatformQuery
from api.settings import Settings

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


def _code_of_uncoded(error: GraphQLError, execution_context: ExecutionContext | None) -> str:
    """The code of an error graphql-core raised without one, by the phase that raised it."""
    if isinstance(error, GraphQLSyntaxError):
        return GRAPHQL_PARSE_FAILED  # the token limit is enforced by the parser
    if execution_context is None or execution_context.result is None:
        return GRAPHQL_VALIDATION_FAILED  # depth, aliases and the spec's own rules
    return BAD_USER_INPUT  # variables that do not coerce to their declared types


class Schema(strawberry.Schema):
    """Logs unexpected errors with their traceback (and request id); expected ones briefly.

    Every expected error leaves with an `extensions.code`, so clients can switch on it. With
    suggestions off, every "Did you mean ...?" goes (strawberry only trims those of unknown
    fields; unknown arguments, input fields, enum values and types suggest too).
    """

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A query or mutation: subscriptions are served over graphql-transport-ws only."""
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed - {OperationType.SUBSCRIPTION},
            operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        if self.config.disable_field_suggestions:
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)
        for error in errors:
            if is_expected(error):
                if not (error.extensions or {}).get("code"):
                    code = _code_of_uncoded(error, execution_context)
                    error.extensions = {**(error.extensions or {}), "code": code}
                log.info("graphql error: %s", error.message)
            elif is_unavailable(error.original_error):
                log.warning("database unavailable in %s: %s", error.path, error.original_error)
            else:
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(settings: Settings | None = None) -> Schema:
    """The schema with the settings' introspection, suggestions and query limits."""
    settings = settings or Settings()
    # The rules are made once per schema (strawberry's limiter extensions make new ones for
    # every request), so a document's validation can be cached.
    rules: list[type[ASTValidationRule]] = [
        query_depth_limiter.create_validator(settings.max_query_depth, should_ignore=None),
        max_aliases.create_validator(settings.max_query_aliases),
    ]
    if not settings.introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Any] = [
        OperationMetrics,
        partial(Documents, max_tokens=settings.max_query_tokens, rules=tuple(rules)),
        MaskUnexpectedErrors,
    ]
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=Executor,
        config=StrawberryConfig(disable_field_suggestions=not settings.field_suggestions),
    )


def schema_sdl() -> str:
    """The SDL committed as schema.graphql."""
    return build_schema().as_str() + "\n"
