"""The process's Prometheus series: GraphQL traffic, DNC adds, and the email outbox."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
