"""The running service: graceful shutdown, and the database going away under it."""
