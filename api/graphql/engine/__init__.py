"""The execution short path, on when `GRAPHQL_FAST_PATH` is true (the default).

A plain JSON POST runs straight through graphql-core (no per-request extension hooks) with an
executor that reads and completes plain fields in one step, documents parsed and validated
once per text, scalar-only inputs built from graphql-core's coerced values, the selection
read once per document, and answers encoded by orjson. With the switch off the service runs
stock strawberry with the same rules and gives the same answers. README.md lists every
private symbol of strawberry and graphql-core this package relies on.
"""
