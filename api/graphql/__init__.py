"""The GraphQL edge: the only code that imports strawberry or graphql. Types, inputs and thin
resolvers per domain, the schema, the view, context, permissions, loaders, cursors, errors;
the execution short path in `engine/` behind `GRAPHQL_FAST_PATH`."""
