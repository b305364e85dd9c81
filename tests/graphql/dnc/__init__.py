"""The DNC operations end to end: adds, removals, bulk adds, expiry, pages, checks and the log."""
