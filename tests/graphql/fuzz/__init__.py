"""Fuzzing the whole GraphQL endpoint over HTTP (hypothesis): operations and the HTTP layer."""
