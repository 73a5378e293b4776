"""The portfolio backtest on the bundled sample: ``BacktestRunner``'s run of the daemon's
``PortfolioCore`` (the engine's fills, the roles through the risk manager), no look-ahead, the
kill switch over both sleeves, the baselines as policies of the same core, and the CLI's files."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.backtest.portfolio.run import PortfolioRun, run_portfolio
from bot.config import Settings
from bot.config.loader import load_settings
from bot.data.sample import sample_dir
from bot.domain import OrderType, TradingState
from tests.integration.backtest.test_cli import rotor, self_contained

HOUR_MS = 3_600_000
CORE = {"BTCUSDT", "ETHUSDT", "SOLUSDT"}


def settings(**over: object) -> Settings:
    return load_settings(None, {"strategy.mode": "portfolio", **over})


@pytest.fixture(scope="module")
def run() -> PortfolioRun:
    return run_portfolio(settings(**{"risk.max_drawdown": 0.9}), sample_dir())


def test_the_report_is_the_cores_run(run: PortfolioRun) -> None:
    """The NAV series is the journal's equity and ends on the engine's; every spot fill is
    counted once; the weights are the venue's holdings after each rebalance."""
    eng = run.output.engine
    assert run.nav[-1] == pytest.approx(float(eng.equity()))
    assert list(run.ts) == sorted(set(run.ts.tolist()))
    assert run.flows.spot_orders == len(eng.spot_executions) > 50
    assert run.recorder.rebalances >= 30
    assert all(float(w.nav) > 0 for w in run.recorder.weights)
    for name, nav in run.baselines.items():  # on the same bars, on engines of their own
        assert len(nav) == len(run.nav) and nav[0] == pytest.approx(10_000, rel=0.01), name
    assert run.baseline_flows["hold_core"].perp_orders == 0
    assert run.baseline_flows["hold_core"].spot_orders == len(CORE)  # bought once


def test_weights_add_up_and_every_role_perp_has_its_stop(run: PortfolioRun) -> None:
    for w in run.recorder.weights:
        assert sum(w.buckets.values()) == pytest.approx(Decimal(1), abs=Decimal("1e-9"))
        assert w.buckets["cash"] >= 0  # buys and transfers never spend cash there is not
    eng = run.output.engine
    opens = [o for o in eng.orders if o.order_type is OrderType.MARKET and not o.reduce_only]
    stops = [o for o in eng.orders if o.order_type is OrderType.STOP_MARKET]
    assert opens, "the roles opened no perpetual on the sample"
    for o in opens:  # each role opening is followed by its reduce-only stop
        nxt = [s for s in stops if s.symbol == o.symbol and s.seq > o.seq]
        assert nxt and nxt[0].reduce_only and nxt[0].qty == o.cum_exec_qty
    assert set(run.flows.role_pnl) <= {"hedge", "transition", "amplify"}
    assert sum(run.flows.role_pnl.values()) != 0


def test_no_look_ahead(run: PortfolioRun) -> None:
    """The data cut after a time changes no decision taken before it."""
    cut_ms = int(run.ts[len(run.ts) // 2])
    short = run_portfolio(
        settings(**{"risk.max_drawdown": 0.9}), sample_dir(), start_ms=run.start_ms, end_ms=cut_ms
    )
    before = [r for r in run.recorder.records if r["t"] < cut_ms - HOUR_MS]
    assert before and short.recorder.records[: len(before)] == before
    k = len(short.nav) - 2
    assert list(short.nav[:k]) == pytest.approx(list(run.nav[:k]))


def test_the_kill_switch_sells_the_non_core_closes_every_perp_and_halts() -> None:
    run = run_portfolio(settings(**{"risk.max_drawdown": 0.05}), sample_dir())
    assert len(run.recorder.kills) == 1
    kill = run.recorder.kills[0]
    assert kill["flat"] and kill["left"] == []
    assert set(kill["kept"]) <= CORE and kill["sold"]
    assert run.transitions[-1].new is TradingState.HALTED
    eng = run.output.engine
    assert eng.positions == {} and eng.open_orders() == []
    assert all(x.ts <= kill["t"] for x in eng.spot_executions)  # halted: nothing after
    specs = {s.base: s for s in eng.spot_markets().values()}
    for coin, qty in eng.coin_balances().items():  # outside the core only dust stays
        spec = specs[coin]
        if spec.perp not in CORE:
            assert qty * eng.spot_price(spec.symbol) < spec.min_notional


def test_cli_writes_the_report_and_refuses_compare(tmp_path: Path) -> None:
    out = tmp_path / "pf"
    res = rotor("backtest", "--mode", "portfolio", "--data", str(sample_dir()), "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "hold_core" in res.stdout and "equal_weight" in res.stdout
    s = json.loads((out / "summary.json").read_text())
    assert s["strategy"] == "portfolio" and set(s["baselines"]) == {"hold_core", "equal_weight"}
    for key in ("turnover", "fees", "spot_fees", "perp_fees", "total_return", "max_drawdown"):
        assert key in s["portfolio"]
    assert set(s["role_pnl"]) == {"hedge", "transition", "amplify"}  # 0 when a role idled
    html = (out / "report.html").read_text()
    self_contained(html)
    assert '"stackgroup":"one"' in html.replace(" ", "")
    assert (out / "weights.csv").read_text().startswith("time,nav,core,rotational,speculative")
    first = json.loads((out / "decisions.jsonl").read_text().splitlines()[0])
    assert {"t", "kind", "subject", "rule", "text"} <= set(first)
    bad = rotor("backtest", "--mode", "portfolio", "--compare", "rsi-reversion",
                "--data", str(sample_dir()), "--out", str(tmp_path / "x"))  # fmt: skip
    assert bad.returncode == 2 and "--compare" in bad.stderr
    worse = rotor("backtest", "--mode", "spot", "--data", str(sample_dir()), "--out", str(out))
    assert worse.returncode == 2 and "--mode" in worse.stderr


def test_reducing_only_sells_and_closes() -> None:
    """The daily-loss breaker sees the whole portfolio: while REDUCING (until the next UTC
    day), a rebalance (every 4 h here) sends no spot buy and opens no perp."""
    over = {
        "risk.max_drawdown": 0.9,
        "risk.daily_loss_limit": 0.01,
        "portfolio.rebalance.interval_h": 4,
    }
    run = run_portfolio(settings(**over), sample_dir())
    spans: list[tuple[int, int]] = []
    start = None
    for t in run.transitions:
        if t.new is TradingState.REDUCING and start is None:
            start = t.ts_ms
        elif t.new is TradingState.ACTIVE and start is not None:
            spans.append((start, t.ts_ms))
            start = None
    assert len(spans) >= 3
    eng = run.output.engine

    def reducing(ts: int) -> bool:
        return any(a <= ts < b for a, b in spans) or (start is not None and ts >= start)

    sold_while_reducing = False
    for x in eng.spot_executions:
        if reducing(x.ts):
            assert x.side.value == "sell", x
            sold_while_reducing = True
    assert sold_while_reducing
    opens = [o for o in eng.orders if o.order_type is OrderType.MARKET and not o.reduce_only]
    assert opens and not any(reducing(o.created_ms) for o in opens)
