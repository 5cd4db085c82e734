"""Backing up an installation into one archive and restoring it into an empty one, and moving
its database from SQLite to PostgreSQL (above the drivers: it reads the schema's history and
the builds' images)."""
