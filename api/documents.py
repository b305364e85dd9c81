"""Documents: parsed within a token limit, validated with our rules, each one only once.

Clients send the same few documents, so each distinct query text is parsed and validated
once. Only short texts are kept, so the cache's memory stays bounded whatever callers send (a
document of a few thousand tokens may still carry megabytes of string literals). One
extension does all of it (strawberry's limiter extensions would add hooks to every request).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from api.errors import GRAPHQL_VALIDATION_FAILED

MAX_CACHED_CHARS = 16_384
CACHED_DOCUMENTS = 256


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _parse(query: str, max_tokens: int | None) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate_document(schema, document, rules)


class Documents(SchemaExtension):
    """The token limit, the validation rules (depth, aliases, introspection when off) and the
    one-operation rule, applied to every document; parse and validation cached per text."""

    def __init__(self, *, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.max_tokens = max_tokens
        self.rules = rules  # made once per schema, so a document's validation can be cached

    def _cacheable(self) -> bool:
        query = self.execution_context.query
        return query is not None and len(query) <= MAX_CACHED_CHARS

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens  # enforced by the parser
        if context.graphql_document is None and self._cacheable():
            assert context.query is not None
            # A text that does not parse is left to strawberry, which reports it as usual.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = _parse(
                    context.query, context.parse_options.get("max_tokens")
                )
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, *self.rules)
        document = context.graphql_document
        if document is not None and context._provided_operation_name is None:
            _refuse_several_operations(context, document)
        if context.pre_execution_errors is None and document is not None and self._cacheable():
            # A copy: later steps edit the list of errors they are given.
            context.pre_execution_errors = list(
                _validate(context.schema._schema, document, tuple(context.validation_rules))
            )
        yield


def _refuse_several_operations(context: ExecutionContext, document: DocumentNode) -> None:
    """A document with several operations must name the one to run (graphql-core would run
    the first), so one request is always exactly one operation."""
    # `operation_name` falls back to the first operation's name; what the client sent is
    # `_provided_operation_name`.
    operations = sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)
    if operations > 1:
        message = "Must provide operationName: the document has several operations."
        error = GraphQLError(message, extensions={"code": GRAPHQL_VALIDATION_FAILED})
        # Set before validation runs, validation is skipped and this error returned.
        context.pre_execution_errors = [error]
