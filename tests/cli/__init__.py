"""`dnc-api`, run as an operator runs it: one module per command."""
