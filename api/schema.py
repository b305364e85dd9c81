"""The GraphQL schema: the root types, the extensions, and error logging."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from functools import partial
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    execute,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.exceptions import MissingQueryError
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import max_aliases, query_depth_limiter
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.operation import get_operation_type

from api.db import is_unavailable
from api.dnc.mutations import DncMutation
from api.dnc.queries import DncQuery
from api.dnc.subscriptions import DncSubscription
from api.documents import DocumentRules, Documents
from api.errors import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    MaskUnexpectedErrors,
    is_expected,
    mask_unexpected,
)
from api.execution import Executor
from api.metrics import OperationMetrics, observe_operation
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


def _code_of_uncoded(error: GraphQLError, *, executed: bool) -> str:
    """The code of an error graphql-core raised without one, by the phase that raised it."""
    if isinstance(error, GraphQLSyntaxError):
        return GRAPHQL_PARSE_FAILED  # the token limit is enforced by the parser
    if not executed:
        return GRAPHQL_VALIDATION_FAILED  # depth, aliases and the spec's own rules
    return BAD_USER_INPUT  # variables that do not coerce to their declared types


class Schema(strawberry.Schema):
    """Runs HTTP operations itself; logs unexpected errors with their traceback (and request
    id), expected ones briefly.

    Every expected error leaves with an `extensions.code`, so clients can switch on it. With
    suggestions off, every "Did you mean ...?" goes (strawberry only trims those of unknown
    fields; unknown arguments, input fields, enum values and types suggest too).
    """

    def __init__(self, *, documents: DocumentRules, **options: Any) -> None:
        super().__init__(**options)
        self.documents = documents

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
        """A query or mutation, straight through graphql-core with our executor.

        The steps of strawberry's own `execute`, each once: the document rules, the operation
        type, execution, error logging and masking, metrics. Strawberry would also enter every
        extension hook of every request, a third of a short request's CPU. Subscriptions are
        served over graphql-transport-ws only, by strawberry with the same rules as extensions.
        """
        allowed = set(allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES)
        allowed.discard(OperationType.SUBSCRIPTION)
        if not query:
            raise MissingQueryError
        started = time.perf_counter()
        document: DocumentNode | None = None
        executed = False
        try:
            document = self.documents.parse(query)
            try:
                operation_type = get_operation_type(document, operation_name)
            except RuntimeError as error:
                raise CannotGetOperationTypeError(operation_name) from error
            if operation_type not in allowed:
                raise InvalidOperationTypeError(operation_type)
            errors = self.documents.validate(self._schema, query, document, operation_name)
            data = None
            if not errors:
                executed = True
                result = await self._run(
                    document, variable_values, context_value, root_value, operation_name
                )
                data, errors = result.data, result.errors or []
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError):
            raise
        except Exception as error:  # a parse error, or a failure outside any field
            errors, data = [_as_graphql_error(error)], None
        if errors:
            self._process(errors, executed=executed)
        observe_operation(
            self._schema,
            document,
            operation_name,
            failed=bool(errors),
            seconds=time.perf_counter() - started,
        )
        return ExecutionResult(data=data, errors=mask_unexpected(errors) if errors else None)

    async def _run(
        self,
        document: DocumentNode,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        root_value: Any,
        operation_name: str | None,
    ) -> GraphQLExecutionResult:
        result = execute(
            self._schema,
            document,
            root_value=root_value,
            context_value=context_value,
            variable_values=variable_values,
            operation_name=operation_name,
            executor_class=Executor,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # a bool, not a TypeGuard
        )
        return await result if isawaitable(result) else result

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """For the operations strawberry runs itself (a socket's)."""
        executed = execution_context is not None and execution_context.result is not None
        self._process(errors, executed=executed)

    def _process(self, errors: list[GraphQLError], *, executed: bool) -> None:
        if self.config.disable_field_suggestions:
            for error in errors:
                error.message = _SUGGESTION.sub("", error.message)
        for error in errors:
            if is_expected(error):
                if not (error.extensions or {}).get("code"):
                    code = _code_of_uncoded(error, executed=executed)
                    error.extensions = {**(error.extensions or {}), "code": code}
                log.info("graphql error: %s", error.message)
            elif is_unavailable(error.original_error):
                log.warning("database unavailable in %s: %s", error.path, error.original_error)
            else:
                log.error("unexpected error in %s", error.path, exc_info=error.original_error)


def _as_graphql_error(error: Exception) -> GraphQLError:
    if isinstance(error, GraphQLError):
        return error
    return GraphQLError(str(error), original_error=error)


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
    documents = DocumentRules(max_tokens=settings.max_query_tokens, rules=tuple(rules))
    extensions: list[Any] = [
        OperationMetrics,
        partial(Documents, rules=documents),
        MaskUnexpectedErrors,
    ]
    return Schema(
        documents=documents,
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
