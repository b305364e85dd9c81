"""The GraphQL edge (api/graphql): end to end over HTTP and graphql-transport-ws, and the engine."""
