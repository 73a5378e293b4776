"""Freshness ages per feed and symbol; delisted / renamed / non-trading instruments."""

from __future__ import annotations

from decimal import Decimal

from structlog.testing import capture_logs

from bot.data.freshness import FreshnessTracker, detect_instrument_changes
from bot.data.panel import HOUR_MS
from bot.data.quality import Feed
from bot.data.sectors import load_sector_map
from bot.domain.instrument import Instrument

T0 = 1_767_225_600_000


def test_ages_staleness_and_readiness() -> None:
    now = [T0]
    f = FreshnessTracker(clock=lambda: now[0])
    ok, reasons = f.ready()
    assert not ok and "tickers: no data yet" in reasons
    f.touch(Feed.TICKERS, "BTCUSDT", T0 - 2_000)
    f.touch(Feed.TICKERS, "ETHUSDT", T0 - 90_000)
    f.touch_bar("BTCUSDT", T0 - 2 * HOUR_MS)  # closed at T0 - 1h
    assert f.symbol_age_ms("BTCUSDT") == 2_000
    assert f.symbol_age_ms("BTCUSDT", Feed.KLINES) == HOUR_MS
    assert f.stale_symbols(["BTCUSDT", "ETHUSDT", "SOLUSDT"]) == ["ETHUSDT", "SOLUSDT"]
    assert f.is_stale("ETHUSDT", max_age_ms=120_000) is False
    assert f.ready() == (True, [])
    now[0] = T0 + 5 * 60_000
    ok, reasons = f.ready()
    assert not ok and reasons == ["tickers: stale (300000 ms > 60000 ms)"]
    snap = f.snapshot()
    assert snap["feeds"]["tickers"]["stale"] is True
    assert snap["symbol_age_ms"]["BTCUSDT"]["klines"] == HOUR_MS + 5 * 60_000
    # An older as-of time never makes a symbol look fresher than it is, or older.
    f.touch(Feed.TICKERS, "BTCUSDT", T0 - 10 * HOUR_MS)
    assert f.symbol_age_ms("BTCUSDT") == 5 * 60_000 + 2_000


def inst(sym: str, status: str = "Trading") -> Instrument:
    one = Decimal(1)
    return Instrument(sym, sym[:-4], "USDT", one, one, one, one, (), status=status)


def test_instrument_changes() -> None:
    sm = load_sector_map()
    tracked = ["BTCUSDT", "MATICUSDT", "LUNAUSDT", "ETHUSDT", "SOLUSDT"]
    venue = [inst("BTCUSDT"), inst("POLUSDT"), inst("ETHUSDT", "Settling"), inst("SOLUSDT"),
             inst("NEWUSDT"), inst("OLDUSDT", "Closed")]  # fmt: skip
    with capture_logs() as logs:
        ch = detect_instrument_changes(tracked, venue, sm)
    assert ch.delisted == ["LUNAUSDT"]
    assert ch.renamed == {"MATICUSDT": "POLUSDT"}
    assert ch.not_trading == {"ETHUSDT": "Settling"}
    assert ch.listed == ["NEWUSDT"]
    assert ch.unusable == ["ETHUSDT", "LUNAUSDT", "MATICUSDT"]
    assert {e["event"] for e in logs} == {
        "instruments_delisted",
        "instruments_renamed",
        "instruments_not_trading",
    }
    # A status mapping works too; without a sector map a rename looks like a delisting.
    ch2 = detect_instrument_changes(["RNDRUSDT"], {"RENDERUSDT": "Trading"}, log=False)
    assert ch2.delisted == ["RNDRUSDT"] and ch2.listed == ["RENDERUSDT"]
    ch3 = detect_instrument_changes(["RNDRUSDT"], {"RENDERUSDT": "Trading"}, sm, log=False)
    assert ch3.renamed == {"RNDRUSDT": "RENDERUSDT"} and ch3.listed == []
