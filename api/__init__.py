"""The DNC service: GraphQL edge, service layer, delivery and operations."""
