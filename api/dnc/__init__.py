"""The DNC list: phone numbers, the add flow, the list queries and the GraphQL types."""
