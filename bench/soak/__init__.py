"""The soak test: `python -m bench.soak` (see __main__ for what it does and its flags)."""
