"""RELIABILITY.md #20 (task count and memory stay flat), #21 (host timezone) and #22 (bad ticks
and bars are rejected, logged, and never traded on)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sqlite3
import sys
from pathlib import Path

import numpy as np
from structlog.testing import capture_logs

from bot.data.datadir import Ohlcv, read_ohlcv, write_ohlcv
from bot.data.store import PanelStore
from bot.domain import Ticker
from bot.venues.feed import PanelStoreSink
from tests.conftest import ROOT
from tests.reliability.daemon_rig import HOUR, START, bar, running_daemon, trading_data
from tests.reliability.invariants import assert_nothing_lost, read_books
from tests.simserver import sim_server

DAY_BARS = 24


async def test_s20_task_count_and_memory_stay_flat(tmp_path: Path) -> None:
    """A week of bars through the daemon (the 90-day figures are in bench/chaos.py)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    async with sim_server(trading_data(tmp_path / "d"), start_ms=START) as sim:
        async with running_daemon(sim, url) as d:
            samples = []
            for _ in range(7):
                await bar(sim, d, DAY_BARS)
                samples.append(d.degraded.sample())
            assert d.metrics.asyncio_tasks._value.get() == samples[-1][0]
        tasks = [t for t, _ in samples]
        rss = [r for _, r in samples]
        assert max(tasks) == min(tasks), f"asyncio tasks drift: {tasks}"
        grow_mb = (rss[-1] - rss[1]) / 2**20
        assert grow_mb < 6, f"resident memory grew {grow_mb:.1f} MB in 5 days: {rss}"


def _replay_cmd(data: Path, db: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--mode",
        "replay",
        "--data",
        str(data),
        "--start",
        "2024-01-11T00:00:00Z",
        "--db",
        f"sqlite+aiosqlite:///{db}",
        "--preset",
        "rsi-reversion",
    ]


async def test_s21_host_timezone_changes_nothing(tmp_path: Path) -> None:
    """The same replay under UTC and under UTC+13:45: identical orders, decisions, times."""
    data = trading_data(tmp_path / "d")
    # Replay reads the data directory's own sector map: give it the bundled map's sectors.
    (data / "sectors.csv").write_text("symbol,sector\nBTCUSDT,benchmark\nETHUSDT,l1\nSOLUSDT,l1\n")
    runs = {}
    procs = []
    for tz in ("UTC", "Pacific/Chatham"):
        db = tmp_path / f"{tz.replace('/', '_')}.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
        env.update(
            TZ=tz,
            ROTOR__LOGGING__FORMAT="json",
            ROTOR__CONTROL__ENABLED="false",
            ROTOR__UNIVERSE__SYMBOLS=json.dumps(["BTCUSDT", "ETHUSDT", "SOLUSDT"]),
        )
        proc = await asyncio.create_subprocess_exec(
            *_replay_cmd(data, db),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            cwd=str(ROOT),
        )
        procs.append((tz, db, proc))
    for tz, db, proc in procs:
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, out.decode()[-2000:]
        lines = [json.loads(x) for x in out.decode().splitlines() if x.startswith("{")]
        stamps = [e["timestamp"] for e in lines if "timestamp" in e]
        assert stamps and all(s.endswith("Z") for s in stamps), "log times are UTC"
        with sqlite3.connect(db) as c:
            runs[tz] = {
                "orders": c.execute(
                    "SELECT symbol, side, type, qty, status, created_ms, intent FROM orders "
                    "ORDER BY id"
                ).fetchall(),
                "decisions": c.execute(
                    "SELECT t, symbol, action FROM decisions ORDER BY id"
                ).fetchall(),
                "equity": c.execute(
                    "SELECT ts, equity FROM equity_snapshots ORDER BY id"
                ).fetchall(),
            }
    utc, far = runs["UTC"], runs["Pacific/Chatham"]
    assert utc["orders"], "the replay traded"
    assert utc == far
    # Bar closes are whole UTC hours whatever the host zone.
    assert all(t % HOUR == 0 for t, *_ in utc["decisions"])


def _spoil(data: Path) -> dict[str, int]:
    """BTC: a 50x close, then a bar with high < low; ETH: a zero close, then a negative one."""
    first = START // HOUR - read_ohlcv(data / "ohlcv" / "BTCUSDT.parquet").ts[0] // HOUR
    bad = {"BTC_spike": first + 12, "BTC_inverted": first + 15, "ETH_zero": first + 13}
    bad["ETH_negative"] = first + 16
    for sym, edits in (
        ("BTCUSDT", (("spike", bad["BTC_spike"]), ("inverted", bad["BTC_inverted"]))),
        ("ETHUSDT", (("zero", bad["ETH_zero"]), ("negative", bad["ETH_negative"]))),
    ):
        path = data / "ohlcv" / f"{sym}.parquet"
        o = read_ohlcv(path)
        op, hi, lo, cl = (a.copy() for a in (o.open, o.high, o.low, o.close))
        for kind, k in edits:
            if kind == "spike":
                cl[k] *= 50
                hi[k] = cl[k]
            elif kind == "inverted":
                hi[k], lo[k] = lo[k], hi[k]
            elif kind == "zero":
                cl[k] = 0.0
                lo[k] = 0.0
            else:
                cl[k] = -5.0
                lo[k] = -5.0
        write_ohlcv(path, Ohlcv(o.ts, op, hi, lo, cl, o.volume))
    return {k: int(read_ohlcv(data / "ohlcv" / "BTCUSDT.parquet").ts[v]) for k, v in bad.items()}


async def test_s22_bad_bars_from_the_venue_are_rejected_and_never_traded(tmp_path: Path) -> None:
    data = trading_data(tmp_path / "d")
    bad_ts = _spoil(data)
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    async with sim_server(data, start_ms=START) as sim, running_daemon(sim, url) as d:
        with capture_logs() as logs:
            await bar(sim, d, 20)
        panel = d.market.store.panel()
        rejected = {
            (e["symbol"], e["ts"], e["reason"])
            for e in logs
            if e["event"] == "data_rejected" and e["feed"] == "klines"
        }
        for key, ts in bad_ts.items():
            sym = "BTCUSDT" if key.startswith("BTC") else "ETHUSDT"
            assert any(s == sym and t == ts for s, t, _ in rejected), (key, rejected)
            i, j = panel.symbols.index(sym), int(np.searchsorted(panel.ts, ts))
            assert panel.ts[j] == ts and math.isnan(panel.close[i, j]), f"{key} stored"
        reasons = {r for *_, r in rejected}
        assert {"high_lt_low", "non_positive"} <= reasons, reasons
        assert reasons & {"jump", "jump_vs_previous", "jump_vs_mark", "wick"}, reasons
        books = await read_books(sim, url)
        assert not [o for o in books.venue_orders.values() if o["symbol"] != "SOLUSDT"]
        assert_nothing_lost(books)


def test_s22_bad_ticks_are_rejected_and_logged() -> None:
    """NaN, zero, negative and 50x last prices never reach the store (the risk manager's
    BAD_PRICE guard is the second line: tests/unit/risk)."""
    store = PanelStore(["BTCUSDT"], ["majors"], capacity=48)
    sink = PanelStoreSink(store)
    t0 = START

    def tick(ts: int, last: float, mark: float = 100.0) -> Ticker:
        return Ticker(
            "BTCUSDT", ts, last, mark, mark, last - 0.1, last + 0.1, 1e-4, ts + 8 * HOUR, 5e4
        )

    assert sink.on_tickers([tick(t0, 100.0)])
    bad = [
        tick(t0 + 1000, math.nan),
        tick(t0 + 2000, 0.0),
        tick(t0 + 3000, -3.0),
        tick(t0 + 4000, 5000.0),  # 50x the last accepted price and the mark
    ]
    with capture_logs() as logs:
        accepted = [t for t in bad if sink.on_tickers([t])]
    assert accepted == []
    reasons = [e["reason"] for e in logs if e["event"] == "data_rejected"]
    assert reasons[:3] == ["nan", "non_positive", "non_positive"] and reasons[3].startswith("jump")
    assert sink.on_tickers([tick(t0 + 5000, 100.5)]), "a good tick after them is accepted"
