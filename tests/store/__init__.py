"""The store: migrations, SQL conditions, the export's CSV and its PostgreSQL COPY."""
