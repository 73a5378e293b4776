"""ARCHITECTURE.md: a backtest and a replay of the same data through the daemon must agree.

The daemon runs in-process in replay mode (SQLite, no control server) over a two-week slice
of the bundled sample where rsi-reversion trades; ``rotor backtest``'s runner replays the
same slice with the same config. Every fill (symbol, side, time, quantity, price, kind) and
every funding payment must be identical.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from bot.backtest.data import prepare
from bot.backtest.metrics import iso
from bot.backtest.portfolio.run import run_prepared
from bot.backtest.result import collect
from bot.backtest.runner import BacktestRunner
from bot.config import Settings, load_settings
from bot.data.datadir import (
    DataDir,
    Funding,
    Ohlcv,
    OpenInterestSeries,
    write_funding,
    write_ohlcv,
    write_open_interest,
)
from bot.data.sample import sample_dir
from bot.runtime.daemon import Daemon

START_MS = 1_767_571_200_000  # 2026-01-05T00:00Z, a window where rsi-reversion trades
END_MS = START_MS + 14 * 24 * 3_600_000


# The daemon's replay runs a full cycle per bar: 40 of the sample's 123 symbols keep the
# test at seconds while still trading.
N_SYMBOLS = 40


def copy_until(src: Path, dst: Path, end_ms: int, n_symbols: int = N_SYMBOLS) -> Path:
    """A copy of a data directory holding only rows stamped before ``end_ms``: BTC and the
    first ``n_symbols - 1`` other symbols by name."""
    dd = DataDir(src)
    others = [s for s in dd.symbols() if s != "BTCUSDT"][: n_symbols - 1]
    for sym in ["BTCUSDT", *others]:
        o = dd.ohlcv(sym)
        k = o.ts < end_ms
        write_ohlcv(
            dst / "ohlcv" / f"{sym}.parquet",
            Ohlcv(o.ts[k], o.open[k], o.high[k], o.low[k], o.close[k], o.volume[k]),
        )
        f = dd.funding(sym)
        if f is not None:
            k = f.ts < end_ms
            write_funding(dst / "funding" / f"{sym}.parquet", Funding(f.ts[k], f.rate[k]))
        oi = dd.open_interest(sym)
        if oi is not None:
            k = oi.ts < end_ms
            write_open_interest(
                dst / "open_interest" / f"{sym}.parquet", OpenInterestSeries(oi.ts[k], oi.oi[k])
            )
    keep = {"BTCUSDT", *others}
    lines = (src / "sectors.csv").read_text().splitlines()
    (dst / "sectors.csv").write_text(
        "\n".join([lines[0], *(x for x in lines[1:] if x.split(",")[0] in keep)]) + "\n"
    )
    shutil.copy(src / "instruments.json", dst / "instruments.json")
    return dst


def _settings(data: Path, db: Path) -> Settings:
    return load_settings(
        None,
        {
            "mode": "replay",
            "strategy.preset": "rsi-reversion",
            "sim.data_dir": str(data),
            "sim.start": iso(START_MS),
            "universe.sector_map": str(data / "sectors.csv"),
            "database.url": f"sqlite+aiosqlite:///{db}",
            "control.enabled": False,
            "logging.level": "WARNING",
        },
        environ={},
    )


async def _replay(settings: Settings) -> Any:
    daemon = Daemon(settings, environ={})
    await daemon.start()
    await asyncio.wait_for(daemon.run(), timeout=240)
    return daemon.services.bundle.engine


def _fills(engine: Any) -> list[tuple[Any, ...]]:
    return [(e.symbol, e.side, e.ts, e.qty, e.price, e.exec_type) for e in engine.executions]


def _funding(engine: Any) -> list[tuple[Any, ...]]:
    return [(f.symbol, f.ts, f.qty, f.amount) for f in engine.funding_payments]


def test_replay_through_the_daemon_equals_the_backtest(tmp_path: Path) -> None:
    data = copy_until(sample_dir(), tmp_path / "data", END_MS)
    settings = _settings(data, tmp_path / "rotor.db")
    assert settings.sim.fee_taker == settings.backtest.fee_taker
    assert settings.sim.slippage == settings.backtest.slippage
    replayed = asyncio.run(_replay(settings))

    effective, loaded = prepare(settings, data)
    out = asyncio.run(BacktestRunner(effective, loaded, start_ms=START_MS).run())
    result = collect(out)

    daemon_fills = _fills(replayed)
    assert len(daemon_fills) >= 10  # the window really trades
    assert _fills(out.engine) == daemon_fills
    assert _funding(out.engine) == _funding(replayed)
    assert out.engine.equity() == replayed.equity()
    entries = [(e.symbol, e.ts) for e in replayed.executions if e.closed_size == 0]
    assert sorted((t.symbol, t.entry_time) for t in result.trades) == sorted(entries)
    assert np.isclose(result.curve.equity[-1], float(replayed.equity()))


PF_START_MS = 1_769_904_000_000  # 2026-02-01T00:00Z (tests/integration/daemon: the roles act)
PF_END_MS = PF_START_MS + 3 * 24 * 3_600_000 + 3_600_000


def _spot_fills(engine: Any) -> list[tuple[Any, ...]]:
    return [
        (e.symbol, e.side, e.ts, e.qty, e.price, e.fee, e.fee_currency)
        for e in engine.spot_executions
    ]


def portfolio_replay_settings(data: Path, tmp_path: Path) -> Settings:
    """The portfolio mode's replay of ``data`` from ``PF_START_MS``, its database in
    ``tmp_path``."""
    return load_settings(
        None,
        {
            "mode": "replay",
            "strategy.mode": "portfolio",
            "sim.data_dir": str(data),
            "sim.start": iso(PF_START_MS),
            "universe.sector_map": str(data / "sectors.csv"),
            "database.url": f"sqlite+aiosqlite:///{tmp_path / 'rotor.db'}",
            "control.enabled": False,
            "logging.level": "WARNING",
        },
        environ={},
    )


def test_portfolio_replay_through_the_daemon_equals_the_reported_backtest(
    tmp_path: Path,
) -> None:
    """Issue #20: the portfolio mode's replay (``PortfolioCore`` in the daemon) and
    ``rotor backtest --mode portfolio`` (``BacktestRunner``'s run of the same core, with the
    report's recorder and baselines) make the same spot and perp fills, and the reported
    figures are those fills and that equity."""
    data = copy_until(sample_dir(), tmp_path / "data", PF_END_MS, n_symbols=1000)
    settings = portfolio_replay_settings(data, tmp_path)
    replayed = asyncio.run(_replay(settings))

    effective, loaded = prepare(settings, data)
    run = run_prepared(effective, loaded, start_ms=PF_START_MS)
    out = run.output.engine

    spot = _spot_fills(replayed)
    assert len({t for _s, _d, t, *_ in spot}) >= 3  # three daily rebalances traded
    assert _spot_fills(out) == spot
    assert any(e.exec_type == "Trade" for e in replayed.executions)  # a role's perp
    assert _fills(out) == _fills(replayed)
    assert _funding(out) == _funding(replayed)
    assert out.coin_balances() == replayed.coin_balances()
    assert out.equity() == replayed.equity()
    # The report reads that run: its NAV ends on the replay's equity, its counts and fees are
    # the replay's fills.
    assert run.nav[-1] == float(replayed.equity())
    assert run.flows.spot_orders == len(replayed.spot_orders)
    assert run.flows.spot_traded == sum(e.qty * e.price for e in replayed.spot_executions)
    assert run.flows.perp_fees == sum(e.fee for e in replayed.executions)
    assert run.recorder.rebalances >= 3
