"""The admin email: what the admins receive, and how the outbox gets it to them."""
