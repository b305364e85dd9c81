"""Bearer tokens over HTTP and over the socket: what is accepted, and every refusal."""
