"""Documents parsed within the token limit and validated with the schema's rules, each once.

Clients send the same few documents, so each distinct query text is parsed and validated
once. Only short texts are kept, so the caches' memory stays bounded whatever callers send (a
document of a few thousand tokens may still carry megabytes of string literals). Keyed by the
text, whose hash Python keeps: a document's hash walks its whole tree.
"""

from __future__ import annotations

from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse
from graphql import specified_rules as spec_rules
from strawberry.schema.schema import validate_document

from api.graphql.errors import GRAPHQL_VALIDATION_FAILED
from api.graphql.execution import (
    CACHED_DOCUMENTS,
    ONE_OPERATION,
    DocumentRules,
    several_operations,
)

MAX_CACHED_CHARS = 16_384


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _parse(query: str, max_tokens: int) -> DocumentNode:
    return parse(query, max_tokens=max_tokens)


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _validate(
    schema: GraphQLSchema, query: str, max_tokens: int, rules: tuple[type[ASTValidationRule], ...]
) -> tuple[GraphQLError, ...]:
    return tuple(validate_document(schema, _parse(query, max_tokens), rules))


def parse_query(rules: DocumentRules, query: str) -> DocumentNode:
    """The document of `query`; a GraphQLError when it does not parse within the limit."""
    if len(query) <= MAX_CACHED_CHARS:
        return _parse(query, rules.max_tokens)
    return parse(query, max_tokens=rules.max_tokens)


def validate_query(
    rules: DocumentRules,
    schema: GraphQLSchema,
    query: str,
    document: DocumentNode,
    operation_name: str | None,
) -> list[GraphQLError]:
    """The validation errors of `document`, parsed from `query` (a new list: callers edit it)."""
    if several_operations(document, operation_name):
        return [GraphQLError(ONE_OPERATION, extensions={"code": GRAPHQL_VALIDATION_FAILED})]
    all_rules = (*spec_rules, *rules.rules)
    if len(query) <= MAX_CACHED_CHARS:
        return list(_validate(schema, query, rules.max_tokens, all_rules))
    return validate_document(schema, document, all_rules)
