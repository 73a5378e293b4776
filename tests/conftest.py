"""Shared fixtures: paths to the shared real data, database URLs for both backends."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bot.observability.logging import REDACTOR

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data" / "market" / "binance-usdm-1h"
FIXTURES = SHARED / "fixtures" / "ccxt-bybit"

PG_URL_ENV = "ROTOR_TEST_PG_URL"
REQUIRE_PG_ENV = "ROTOR_REQUIRE_PG"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real Binance USD-M 1h data set beside the project (skips only outside CI)."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared data missing at {SHARED_DATA}")
        pytest.skip("shared data not present")
    return SHARED_DATA


def pg_url_or_skip() -> str:
    """The PostgreSQL URL for tests; in CI (ROTOR_REQUIRE_PG=1) a missing server fails."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        if os.environ.get(REQUIRE_PG_ENV) or os.environ.get("CI"):
            pytest.fail(f"{PG_URL_ENV} is not set but PostgreSQL tests are required")
        pytest.skip(f"{PG_URL_ENV} not set")
    return url


# Database fixtures (db_url over SQLite and PostgreSQL, migrated_url, repo) for every suite.
pytest_plugins = ["tests.dbfixtures"]


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    """No test leaks its logging configuration (levels, handlers, redaction) into the next."""
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    REDACTOR.clear()
