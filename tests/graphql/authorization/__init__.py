"""Who may do what to whose data: the authorization matrix, its callers and its probes."""
