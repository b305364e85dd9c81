"""Documents: parsed within a token limit, validated with our rules, each one only once.

Clients send the same few documents, so each distinct query text is parsed and validated
once. Only short texts are kept, so the cache's memory stays bounded whatever callers send (a
document of a few thousand tokens may still carry megabytes of string literals).
`DocumentRules` holds the rules; HTTP requests apply them directly (`api.schema`), sockets
through the `Documents` extension.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from api.errors import GRAPHQL_VALIDATION_FAILED

MAX_CACHED_CHARS = 16_384
CACHED_DOCUMENTS = 256


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _validate(
    schema: GraphQLSchema,
    query: str,
    max_tokens: int,
    rules: tuple[type[ASTValidationRule], ...],
) -> tuple[GraphQLError, ...]:
    """Keyed by the text, whose hash Python keeps: a document's hash walks its whole tree."""
    return tuple(validate_document(schema, _parse(query, max_tokens), rules))


@dataclass(frozen=True)
class DocumentRules:
    """The token limit, the validation rules (the spec's, then depth, aliases, introspection
    when off) and the one-operation rule. Made once per schema, so validation can be cached."""

    max_tokens: int
    rules: tuple[type[ASTValidationRule], ...]

    def parse(self, query: str) -> DocumentNode:
        """The document of `query`; a GraphQLError when it does not parse within the limit."""
        if len(query) <= MAX_CACHED_CHARS:
            return _parse(query, self.max_tokens)
        return parse(query, max_tokens=self.max_tokens)

    def validate(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        operation_name: str | None,
    ) -> list[GraphQLError]:
        """The validation errors of `document`, parsed from `query` (a new list: callers
        edit it)."""
        if operation_name is None and _operations(document) > 1:
            # graphql-core would run the first: one request is always exactly one operation.
            message = "Must provide operationName: the document has several operations."
            return [GraphQLError(message, extensions={"code": GRAPHQL_VALIDATION_FAILED})]
        rules = (*specified_rules, *self.rules)
        if len(query) <= MAX_CACHED_CHARS:
            return list(_validate(schema, query, self.max_tokens, rules))
        return validate_document(schema, document, rules)


def _operations(document: DocumentNode) -> int:
    return sum(isinstance(node, OperationDefinitionNode) for node in document.definitions)


class Documents(SchemaExtension):
    """`DocumentRules` for the operations of a socket (strawberry runs those itself)."""

    def __init__(self, *, rules: DocumentRules) -> None:
        self.rules = rules

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.rules.max_tokens  # enforced by the parser
        if context.graphql_document is None and context.query is not None:
            # A text that does not parse is left to strawberry, which reports it as usual.
            with contextlib.suppress(GraphQLError):
                context.graphql_document = self.rules.parse(context.query)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document, query = context.graphql_document, context.query
        if context.pre_execution_errors is None and document is not None and query is not None:
            # `operation_name` falls back to the first operation's name; what the client
            # sent is `_provided_operation_name`.
            errors = self.rules.validate(
                context.schema._schema, query, document, context._provided_operation_name
            )
            context.pre_execution_errors = errors  # set: strawberry's own validation is skipped
        yield
