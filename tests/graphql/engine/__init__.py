"""The execution fast path (api/graphql/engine) as units: it answers as stock strawberry does."""
