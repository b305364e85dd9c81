"""Every hand-written SQL statement and every dialect branch, with one definition of each
shared condition. Returns rows and models, never GraphQL objects."""
