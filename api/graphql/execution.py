"""Strawberry's own execution, with the contract's rules as its extensions.

This is the whole path when `GRAPHQL_FAST_PATH=false`, and the path of every operation the
engine leaves to strawberry (a socket's, a GET's). The document rules (token limit, depth,
aliases, introspection when off, one operation per request) are made once per schema, so
strawberry's validation cache can keep a document's result; errors leave with a stable
`extensions.code`, unexpected ones masked and logged with their traceback.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationDefinitionNode,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from api.graphql.errors import (
    BAD_USER_INPUT,
    GRAPHQL_PARSE_FAILED,
    GRAPHQL_VALIDATION_FAILED,
    MaskUnexpectedErrors,
    is_expected,
)
from api.graphql.metrics import OperationMetrics
from api.settings import Settings
from api.store.database import is_unavailable

log = logging.getLogger("api.graphql")

CACHED_DOCUMENTS = 256
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
ONE_OPERATION = "Must provide operationName: the document has several operations."


@dataclass(frozen=True)
class DocumentRules:
    """The token limit and the validation rules beyond the spec's (depth, aliases, and
    introspection when off), made once per schema so a document's validation can be cached
    (strawberry's limiter extensions would make new rules for every request)."""

    max_tokens: int
    rules: tuple[type[ASTValidationRule], ...]

    @classmethod
    def of(cls, settings: Settings) -> DocumentRules:
        rules: list[type[ASTValidationRule]] = [
            query_depth_limiter.create_validator(settings.max_query_depth, should_ignore=None),
            max_aliases.create_validator(settings.max_query_aliases),
        ]
        if not settings.introspection:
            rules.append(NoSchemaIntrospectionCustomRule)
        return cls(max_tokens=settings.max_query_tokens, rules=tuple(rules))


def several_operations(document: DocumentNode, operation_name: str | None) -> bool:
    """A document of several operations without a name to choose one: graphql-core would run
    the first, but one request is always exactly one operation."""
    operations = sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)
    return operation_name is None and operations > 1


class OneOperation(SchemaExtension):
    """`several_operations` refused as a validation error."""

    def on_validate(self) -> Iterator[None]:
        # Before strawberry reads the validation's outcome (the hook's first half): after the
        # validation cache, which has set the rules' errors by then.
        context = self.execution_context
        document = context.graphql_document
        # `operation_name` falls back to the first operation's; what the client sent is this.
        sent = context._provided_operation_name
        if (
            document is not None
            and not context.pre_execution_errors
            and several_operations(document, sent)
        ):
            error = GraphQLError(ONE_OPERATION, extensions={"code": GRAPHQL_VALIDATION_FAILED})
            context.pre_execution_errors = [error]
        yield


def stock_extensions(rules: DocumentRules) -> list[Any]:
    """The rules, metrics and masking as strawberry's extensions, in the order they must run."""
    return [
        OperationMetrics,
        lambda: MaxTokensLimiter(rules.max_tokens),  # enforced by the parser
        lambda: ParserCache(maxsize=CACHED_DOCUMENTS),
        lambda: AddValidationRules(list(rules.rules)),
        lambda: ValidationCache(maxsize=CACHED_DOCUMENTS),
        OneOperation,
        MaskUnexpectedErrors,
    ]


def _code_of_uncoded(error: GraphQLError, *, executed: bool) -> str:
    """The code of an error graphql-core raised without one, by the phase that raised it."""
    if isinstance(error, GraphQLSyntaxError):
        return GRAPHQL_PARSE_FAILED  # the token limit is enforced by the parser
    if not executed:
        return GRAPHQL_VALIDATION_FAILED  # depth, aliases and the spec's own rules
    return BAD_USER_INPUT  # variables that do not coerce to their declared types


def without_subscriptions(allowed: Iterable[OperationType] | None) -> set[OperationType]:
    """The operation types `execute` may run: subscriptions are served over
    graphql-transport-ws only, so one sent over HTTP is refused (400) before it runs."""
    types = set(allowed or DEFAULT_ALLOWED_OPERATION_TYPES)
    types.discard(OperationType.SUBSCRIPTION)
    return types


class Schema(strawberry.Schema):
    """Logs unexpected errors with their traceback (and request id), expected ones briefly.

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
        """Strawberry's, never a subscription (`without_subscriptions`)."""
        return await super().execute(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types=without_subscriptions(allowed_operation_types),
            operation_extensions=operation_extensions,
        )

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        executed = execution_context is not None and execution_context.result is not None
        self.process(errors, executed=executed)

    def process(self, errors: list[GraphQLError], *, executed: bool) -> None:
        """Codes, suggestions and logging for `errors` (`executed`: they came from execution)."""
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
