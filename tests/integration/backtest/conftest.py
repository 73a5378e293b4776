"""Shared data for the backtest tests: a small synthetic market written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.data.synthetic import generate

SYNTH_START_MS = 1_704_067_200_000  # 2024-01-01
DAY_MS = 24 * 3_600_000


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 symbols (BTC + 11 alts in 3 sectors), 45 days of 1h bars, seed 11."""
    root = tmp_path_factory.mktemp("synth") / "data"
    generate(root, 12, 45, 11, n_sectors=3, start_ms=SYNTH_START_MS)
    return root
