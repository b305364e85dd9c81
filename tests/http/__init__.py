"""The HTTP routes beside GraphQL: the CSV export."""
