"""Shared fixtures: the real data and ccxt fixtures vendored in tests/, database URLs for both
backends (PostgreSQL from ROTOR_TEST_PG_URL, else a throwaway server from local binaries)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bot.observability.alerts import ALERTS
from bot.observability.logging import REDACTOR
from tests.pgserver import throwaway_url

ROOT = Path(__file__).resolve().parents[1]
# A slice of the shared real data set and ccxt's fixtures, vendored so that a clone anywhere
# runs the whole suite (tests/data/SLICE.md says which rows; tests/fixtures/*/PROVENANCE.md).
SHARED_DATA = ROOT / "tests" / "data" / "binance-usdm-1h"
FIXTURES = ROOT / "tests" / "fixtures" / "ccxt-bybit"

PG_URL_ENV = "ROTOR_TEST_PG_URL"
REQUIRE_PG_ENV = "ROTOR_REQUIRE_PG"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real Binance USD-M 1h data slice vendored in tests/data (see its SLICE.md)."""
    assert SHARED_DATA.is_dir(), f"the vendored data slice is missing at {SHARED_DATA}"
    return SHARED_DATA


def pg_url_or_skip() -> str:
    """The PostgreSQL URL for tests: ROTOR_TEST_PG_URL, else a throwaway server started from
    the local binaries; skipped only when PostgreSQL is not installed (a failure in CI,
    ROTOR_REQUIRE_PG=1)."""
    url = os.environ.get(PG_URL_ENV)
    if url:
        return url
    url, why = throwaway_url()
    if url:
        return url
    if os.environ.get(REQUIRE_PG_ENV) or os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests are required: {why}")
    pytest.skip(f"no PostgreSQL installed: {why}")


VENUES = ("bybit", "binanceusdm")


@pytest.fixture(params=VENUES)
def venue_name(request: pytest.FixtureRequest) -> str:
    """Each simulator face rotor trades on: a test taking this runs once per venue."""
    return str(request.param)


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
    ALERTS.reset()
