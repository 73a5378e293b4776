"""A backtest imports what simulating needs: no database, exchange or optimiser stack."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import bot.commands.backtest_cmd, bot.backtest.data, bot.backtest.result, bot.backtest.outputs
print(" ".join(sorted(m for m in sys.modules if "." not in m)))
"""

# Heavy packages a backtest never calls: the daemon's database, the venue clients, the
# optimiser; the report stack (plotly, matplotlib) is imported only when the files are drawn.
NOT_NEEDED = {"sqlalchemy", "alembic", "asyncpg", "aiosqlite", "ccxt", "optuna", "plotly",
              "matplotlib", "aiohttp"}  # fmt: skip


def test_backtest_modules_import_no_database_exchange_or_report_stack() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(proc.stdout.split())
    assert "numpy" in loaded  # the probe ran
    assert not loaded & NOT_NEEDED, sorted(loaded & NOT_NEEDED)
