"""Persistence: the database schema, its migrations, and the stores built on it."""
