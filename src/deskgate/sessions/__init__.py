"""Customer sessions: server-side records behind a small store protocol, with a per-worker cache."""
