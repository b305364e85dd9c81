"""Platform data we mirror (organizations, users, batches, call records) and its import."""
