"""What each API process runs in the background: the worker and the live-event broker."""
