"""Fast unit tests of the DNC rules in api/dnc."""
