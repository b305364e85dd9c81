"""Prometheus metrics: GraphQL traffic, DNC adds, and the email outbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cache

from graphql import DocumentNode, FieldNode, GraphQLSchema, OperationDefinitionNode
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from api.mail import outbox

GRAPHQL_REQUESTS = Counter(
    "dnc_graphql_requests_total",
    "GraphQL operations executed, by operation name and outcome.",
    ["operation", "outcome"],
)
GRAPHQL_LATENCY = Histogram(
    "dnc_graphql_request_duration_seconds",
    "GraphQL operation latency, by operation name.",
    ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DNC_ADDS = Counter("dnc_add_results_total", "addToDnc results, by result type.", ["result"])
DELIVERY_ATTEMPTS = Counter(
    "dnc_email_delivery_attempts_total", "SMTP delivery attempts, by outcome.", ["outcome"]
)
OUTBOX_DEPTH = Gauge(
    "dnc_email_outbox_depth", "Outbox rows by status, read when scraped.", ["status"]
)


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


class OperationMetrics(SchemaExtension):
    """Count and time every operation by its root fields and outcome."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        known = _root_fields(context.schema._schema)
        name = _operation_label(context.graphql_document, context.operation_name, known)
        result = context.result
        outcome = (
            "error" if getattr(result, "errors", None) or context.pre_execution_errors else "ok"
        )
        GRAPHQL_REQUESTS.labels(operation=name, outcome=outcome).inc()
        GRAPHQL_LATENCY.labels(operation=name).observe(time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    try:
        for status, count in (await outbox.depth()).items():
            OUTBOX_DEPTH.labels(status=status.value.lower()).set(count)
    except Exception:  # the database may be down; still serve the process metrics
        OUTBOX_DEPTH.clear()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
