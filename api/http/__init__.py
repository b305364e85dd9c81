"""Plain HTTP routes beside GraphQL: the CSV export, health, readiness, metrics, request ids."""
