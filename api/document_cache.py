"""Each distinct query text is parsed and validated once: clients send the same few documents.

Only short texts are kept, so the cache's memory stays bounded whatever callers send (a
document of a few thousand tokens may still carry megabytes of string literals).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

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


class DocumentCache(SchemaExtension):
    def _cacheable(self) -> bool:
        query = self.execution_context.query
        return query is not None and len(query) <= MAX_CACHED_CHARS

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
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
        document = context.graphql_document
        if context.pre_execution_errors is None and document is not None and self._cacheable():
            # A copy: later steps edit the list of errors they are given.
            context.pre_execution_errors = list(
                _validate(context.schema._schema, document, tuple(context.validation_rules))
            )
        yield
