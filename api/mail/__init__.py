"""Admin notifications: composed in the request, written to the outbox, sent after commit."""
