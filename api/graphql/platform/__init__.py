"""GraphQL types and queries of the platform data we mirror."""
