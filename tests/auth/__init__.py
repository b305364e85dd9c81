"""api/auth.py as units: bearer tokens decoded and checked without a database or a request."""
