"""GraphQL types and resolvers of the DNC list."""
