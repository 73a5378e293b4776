"""Reuse the storage fixtures: each test runs on SQLite and on PostgreSQL."""

from tests.integration.storage.conftest import db_url, migrated_url

__all__ = ["db_url", "migrated_url"]
