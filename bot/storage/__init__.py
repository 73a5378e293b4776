"""Persistence: tables, async engine, repository, migrations and the single-instance lease."""
