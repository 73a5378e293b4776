"""Hand-checkable backtests on constructed markets; each asserts the exact PnL.

Common numbers (``scenario.settings``): equity 10,000, risk 2 % → R = 200; fixed stop 8 %
and no cost allowance → N = R / 0.08 = 2,500; at a reference price of 100, Q = 25; leverage
5x → margin 500. Taker fee 0.05 %, no slippage. The signal at bar j's close fills at bar
j+1's open.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from bot.domain import PositionSide
from tests.integration.backtest.scenario import T0, H, Script, flat, run, settings, write_market


def _bars(prices: dict[int, tuple[float, float, float, float]], n: int, base: float):
    rows = flat(n, base)
    for k, bar in prices.items():
        rows[k] = bar
    return rows


def test_single_trade_entry_exit_fee_and_funding(tmp_path: Path) -> None:
    # AAA trades at 100 until bar 27, then opens at 110. Settlements every 8h: the one at 16h
    # settles as the clock arrives at 16h, before the entry filled at 16h, so it is not paid
    # (it was, one settlement late, before issue #14); the one at 24h is received.
    aaa = flat(28, 100.0) + flat(12, 110.0)
    root = write_market(
        tmp_path / "d",
        {"BTCUSDT": flat(40, 50_000.0), "AAAUSDT": aaa},
        funding={"AAAUSDT": [(8, 0.0001), (16, 0.0001), (24, -0.0002), (32, 0.0001)]},
    )
    r = run(root, settings(), Script(entries=[(15, "AAAUSDT", 1.0)], exits=[(27, "AAAUSDT")]))
    [t] = r.trades
    assert (t.symbol, t.side) == ("AAAUSDT", PositionSide.LONG)
    assert (t.entry_time, t.entry_price, t.qty, t.leverage) == (T0 + 16 * H, D(100), D(25), D(5))
    assert (t.exit_time, t.exit_price, t.exit_reason) == (T0 + 28 * H, D(110), "signal_exit")
    # Fees: 25·100·0.0005 + 25·110·0.0005 = 1.25 + 1.375
    assert t.fees == D("2.625")
    # Funding: + 25·100·0.0002 at 24h; 16h settled before the entry, 32h after the exit.
    assert t.funding == D("0.5")
    # PnL: 25·(110 − 100) − 2.625 + 0.5
    assert t.pnl == D("247.875")
    assert abs(r.summary["total_return"] - 0.0247875) < 1e-6
    assert r.curve.equity[-1] == 10247.875
    assert r.summary["trades"] == 1 and r.summary["liquidations"] == 0


def test_stop_gapped_through_fills_at_the_open(tmp_path: Path) -> None:
    # The stop sits at 92 (8 % below the 100 reference). Bar 21 opens at 85: the jump from
    # the 100 close crosses the stop, which fills at the new open, not at 92.
    aaa = _bars({}, 21, 100.0) + flat(19, 85.0)
    root = write_market(
        tmp_path / "d",
        {"BTCUSDT": flat(40, 50_000.0), "AAAUSDT": aaa},
        funding={"AAAUSDT": [(16, 0.0001), (24, 0.0001)]},
    )
    r = run(root, settings(), Script(entries=[(15, "AAAUSDT", 1.0)]))
    [t] = r.trades
    assert t.stop_price == D("92.00")
    assert (t.exit_time, t.exit_price, t.exit_reason) == (T0 + 21 * H, D(85), "stop_loss")
    # −375 gross, fees 1.25 + 25·85·0.0005 = 1.0625; the 16h settlement came before the
    # entry, the 24h one after the exit: no funding
    assert t.fees == D("2.3125") and t.funding == 0
    assert t.pnl == D("-377.3125")
    assert r.curve.equity[-1] == 10_000 - 377.3125


def test_liquidation_loses_the_isolated_margin(tmp_path: Path) -> None:
    # Entry at 100 (Q 25, 5x, stop 92). Bar 17 opens at 60: the jump from the 100 close
    # crosses both the stop and the liquidation price. An isolated position cannot lose more
    # than its margin, so it is liquidated at the bankruptcy price, not stopped out at 60.
    # Bybit isolated, 5x, MMR 1 %: margin 25·100/5 = 500, MM = 2,500·1 % = 25,
    # LP = 100 − (500 − 25)/25 = 81, bankruptcy 100·(1 − 1/5) = 80.
    aaa = [*flat(17, 100.0), (60.0, 60.0, 58.0, 59.0), *flat(22, 59.0)]
    root = write_market(
        tmp_path / "d",
        {"BTCUSDT": flat(40, 50_000.0), "AAAUSDT": aaa},
        funding={"AAAUSDT": [(16, 0.0001)]},
    )
    r = run(root, settings(), Script(entries=[(15, "AAAUSDT", 1.0)]))
    [t] = r.trades
    assert (t.entry_price, t.qty, t.stop_price) == (D(100), D(25), D("92.00"))
    assert (t.exit_price, t.exit_reason) == (D(80), "liquidation")
    assert t.exit_time == T0 + 17 * H  # gap events happen at the new bar's open
    # Loss = the margin 500, plus the entry fee 25·100·0.0005 (the 16h settlement came
    # before the entry)
    assert t.gross == D(-500)
    assert t.fees == D("1.25") and t.funding == 0
    assert t.pnl == D("-501.25")
    assert r.summary["liquidations"] == 1
    assert r.curve.equity[-1] == 10_000 - 501.25


def test_funding_at_4h_and_8h_intervals(tmp_path: Path) -> None:
    # Flat prices and no fees, so each trade's PnL is its funding alone. Both positions are
    # filled at 16h and closed at 32h. Funding settles at the instant, before anything placed
    # then: the 16h settlements are not paid, the 32h ones are (the position was held at 32h).
    root = write_market(
        tmp_path / "d",
        {"BTCUSDT": flat(40, 50_000.0), "AAAUSDT": flat(40, 100.0), "BBBUSDT": flat(40, 50.0)},
        funding={
            "AAAUSDT": [(8, 0.0001), (16, 0.0001), (24, 0.0003), (32, 0.0005)],
            "BBBUSDT": [(h, 0.0001) for h in (4, 8, 12, 16)]
            + [(20, -0.0002), (24, 0.0002), (28, 0.0001), (32, 0.0009)],
        },
        intervals={"AAAUSDT": 8, "BBBUSDT": 4},
        sectors={"AAAUSDT": "l1", "BBBUSDT": "defi"},
    )
    s = settings(**{"backtest.fee_taker": 0.0})
    script = Script(
        entries=[(15, "AAAUSDT", 2.0), (15, "BBBUSDT", 1.0)],
        exits=[(31, "AAAUSDT"), (31, "BBBUSDT")],
    )
    r = run(root, s, script)
    by = {t.symbol: t for t in r.trades}
    assert by["AAAUSDT"].qty == D(25) and by["BBBUSDT"].qty == D(50)
    # AAA (8h): −25·100·(0.0003 + 0.0005) at 24h and 32h = −2.0
    assert by["AAAUSDT"].funding == D("-2.0") and by["AAAUSDT"].pnl == D("-2.0")
    # BBB (4h): −50·50·(−0.0002 + 0.0002 + 0.0001 + 0.0009) at 20h..32h = −2.5
    assert by["BBBUSDT"].funding == D("-2.5") and by["BBBUSDT"].pnl == D("-2.5")
    assert r.summary["funding"] == -4.5
    assert r.curve.equity[-1] == 10_000 - 4.5


def test_risk_rejection_keeps_the_second_entry_out(tmp_path: Path) -> None:
    # Two entries on the same bar with max_open_positions = 1: the better-ranked one trades,
    # the other is refused with MAX_POSITIONS and never reaches the venue.
    root = write_market(
        tmp_path / "d",
        {
            "BTCUSDT": flat(40, 50_000.0),
            "AAAUSDT": flat(28, 100.0) + flat(12, 104.0),
            "BBBUSDT": flat(40, 50.0),
        },
        sectors={"AAAUSDT": "l1", "BBBUSDT": "defi"},
    )
    s = settings(**{"risk.max_open_positions": 1})
    script = Script(entries=[(15, "AAAUSDT", 2.0), (15, "BBBUSDT", 1.0)], exits=[(27, "AAAUSDT")])
    r = run(root, s, script)
    assert [t.symbol for t in r.trades] == ["AAAUSDT"]
    assert r.stats.rejections == {"MAX_POSITIONS": 1}
    # 25·(104 − 100) − 25·100·0.0005 − 25·104·0.0005 = 100 − 1.25 − 1.3
    assert r.trades[0].pnl == D("97.45")
    assert r.curve.equity[-1] == 10_097.45
