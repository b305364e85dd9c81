"""GraphQL operations counted and timed by their root fields and outcome."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cache, lru_cache

from graphql import DocumentNode, FieldNode, GraphQLSchema, OperationDefinitionNode
from prometheus_client import Counter, Histogram
from strawberry.extensions import SchemaExtension

from api.metrics import GRAPHQL_LATENCY, GRAPHQL_REQUESTS


def _operation_label(
    document: DocumentNode | None, operation_name: str | None, known: frozenset[str]
) -> str:
    """The root fields of the executed operation: a label clients cannot inflate at will.

    Only the schema's own root fields make a label; anything else is "invalid".
    """
    if document is None:
        return "unparsed"
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name is not None and (
            definition.name is None or definition.name.value != operation_name
        ):
            continue
        fields = {
            s.name.value for s in definition.selection_set.selections if isinstance(s, FieldNode)
        }
        if not fields or not fields <= known:
            return "invalid"
        return ",".join(sorted(fields))
    return "invalid"


@cache
def _root_fields(schema: GraphQLSchema) -> frozenset[str]:
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    names = {name for root in roots if root is not None for name in root.fields}
    return frozenset(names | {"__schema", "__type", "__typename"})


def observe_operation(
    schema: GraphQLSchema,
    document: DocumentNode | None,
    operation_name: str | None,
    *,
    failed: bool,
    seconds: float,
) -> None:
    """Count and time one operation by its root fields and outcome."""
    name = _operation_label(document, operation_name, _root_fields(schema))
    requests, latency = _series(name, "error" if failed else "ok")
    requests.inc()
    latency.observe(seconds)


@lru_cache(maxsize=1024)
def _series(operation: str, outcome: str) -> tuple[Counter, Histogram]:
    """The series of one label set (looking them up takes a lock and a few checks)."""
    requests = GRAPHQL_REQUESTS.labels(operation=operation, outcome=outcome)
    return requests, GRAPHQL_LATENCY.labels(operation=operation)


class OperationMetrics(SchemaExtension):
    """`observe_operation` for the operations strawberry runs itself (all of them on the stock
    path; a socket's or a GET's on the engine)."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        observe_operation(
            context.schema._schema,
            context.graphql_document,
            context.operation_name,
            failed=bool(getattr(context.result, "errors", None) or context.pre_execution_errors),
            seconds=time.perf_counter() - started,
        )
