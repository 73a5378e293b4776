"""SimMarket loading and the engine's market-data queries on the sim clock."""

from __future__ import annotations

import json
import math
from decimal import Decimal as D
from pathlib import Path

import pytest

from bot.data.datadir import DataFileError
from bot.sim import SimEngine, SimError, SimMarket
from tests.unit.sim.conftest import T0, MakeMarket, flat, write_dir

H = 3_600_000


def test_global_grid_with_late_listing(make_market: MakeMarket) -> None:
    m = make_market({"AAAUSDT": flat(5), "BBBUSDT": flat(2, 50.0)}, start=T0)
    assert m.symbols == ["AAAUSDT", "BBBUSDT"] and len(m.ts) == 5
    tmp = m  # BBB spans bars 0..1 only: NaN afterwards
    assert math.isnan(tmp.open[1, 3])
    e = SimEngine(m, start_ms=T0 + 3 * H)
    assert e.now_ms == T0 + 3 * H
    assert set(e.tickers()) == {"AAAUSDT"}  # BBB delisted after its last bar closed
    with pytest.raises(SimError) as err:
        e.ticker("BBBUSDT")
    assert err.value.code == 10001


def test_klines_are_closed_bars_only_including_history(make_market: MakeMarket) -> None:
    bars = [(100 + i, 101 + i, 99 + i, 100.5 + i) for i in range(6)]
    e = SimEngine(make_market({"AAAUSDT": bars}), start_ms=T0 + 3 * H)
    ks = e.klines("AAAUSDT")
    assert [k.ts for k in ks] == [T0, T0 + H, T0 + 2 * H]
    assert ks[2].open == 102 and ks[2].close == 102.5
    assert [k.ts for k in e.klines("AAAUSDT", limit=2)] == [T0 + H, T0 + 2 * H]
    assert [k.ts for k in e.klines("AAAUSDT", start_ms=T0 + H, limit=1)] == [T0 + H]
    assert [k.ts for k in e.klines("AAAUSDT", end_ms=T0 + H)] == [T0, T0 + H]
    e.advance()
    assert len(e.klines("AAAUSDT")) == 4
    assert e.ticker("AAAUSDT").last == 104.0  # the open of the current bar


def test_ticker_funding_and_open_interest(make_market: MakeMarket) -> None:
    m = make_market(
        {"AAAUSDT": flat(12)},
        funding={"AAAUSDT": [(0, 0.0001), (8, 0.0003)]},
        oi={"AAAUSDT": [(0, 1000.0), (1, 1100.0), (2, 1200.0)]},
    )
    e = SimEngine(m, start_ms=T0 + H)
    t = e.ticker("AAAUSDT")
    # The last settled rate (data up to now), not the 8h settlement's from a later row.
    assert (t.funding_rate, t.next_funding_ms) == (0.0001, T0 + 8 * H)
    assert t.open_interest == 1100.0
    assert [o.open_interest for o in e.open_interest("AAAUSDT")] == [1000.0, 1100.0]
    assert (t.bid, t.last, t.ask) == (99.99, 100.0, 100.01)  # one tick either side
    wide = SimEngine(m, start_ms=T0 + H, half_spread=D("0.001")).ticker("AAAUSDT")
    assert (wide.bid, wide.ask) == (99.9, 100.1)
    assert [f.rate for f in e.funding_history("AAAUSDT")] == [0.0001]


def test_default_instruments_without_instruments_json(tmp_path: Path) -> None:
    root = write_dir(tmp_path / "d", {"BTCUSDT": flat(3, 60000.0), "DOGEUSDT": flat(3, 0.1234)})
    (root / "instruments.json").unlink()
    m = SimMarket.load(root)
    btc, doge = m.instruments["BTCUSDT"], m.instruments["DOGEUSDT"]
    assert btc.tick_size == D("0.1") and btc.qty_step == D("0.00001")
    assert doge.tick_size == D("0.000001") and doge.qty_step == D(10)
    assert btc.min_notional == D(5) and btc.tiers[0].mmr * btc.tiers[0].max_leverage == D("0.5")
    assert btc.launch_ms == T0


def test_bad_instruments_json_names_the_field(tmp_path: Path) -> None:
    root = write_dir(tmp_path / "d", {"AAAUSDT": flat(2)})
    (root / "instruments.json").write_text(
        json.dumps({"AAAUSDT": {"tiers": [{"cap": "x", "mmr": "0.01", "max_leverage": 10}]}})
    )
    with pytest.raises(DataFileError, match=r"AAAUSDT.tiers\[0\].cap"):
        SimMarket.load(root)


def test_unknown_symbol_and_off_hour_timestamps(tmp_path: Path) -> None:
    root = write_dir(tmp_path / "d", {"AAAUSDT": flat(2)}, start=T0 + 1)
    with pytest.raises(DataFileError, match="not on the hour"):
        SimMarket.load(root)
    root2 = write_dir(tmp_path / "e", {"AAAUSDT": flat(2)})
    with pytest.raises(DataFileError, match="ZZZUSDT"):
        SimMarket.load(root2, ["ZZZUSDT"])
