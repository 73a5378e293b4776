"""Run freqtrade against markets read from a file instead of Bybit's API (no network here).

Runs inside freqtrade's own virtual environment, never rotor's. freqtrade loads the venue's
markets and leverage tiers through ccxt even for a backtest; this machine has no internet,
so the three ccxt calls that would fetch them (currencies, markets, leverage tiers) are
replaced, in this process only, by the instruments ``rotor sim`` derives for the same data
directory (tick, qty step, minimum notional, maintenance tiers). Nothing else in freqtrade is
touched: its data loading, indicators, backtest loop and hyperopt run unmodified.

Usage: ``<ft-venv>/bin/python offline.py PAIRS.json freqtrade-args...``
(``PAIRS.json`` is written by ``bench/bench_freqtrade.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def ccxt_market(p: dict[str, Any]) -> dict[str, Any]:
    """A unified ccxt market of a USDT-margined linear perpetual (Bybit's tick-size precision)."""
    return {
        "id": p["id"],
        "symbol": p["pair"],
        "base": p["base"],
        "quote": "USDT",
        "settle": "USDT",
        "baseId": p["base"],
        "quoteId": "USDT",
        "settleId": "USDT",
        "type": "swap",
        "spot": False,
        "margin": False,
        "swap": True,
        "future": False,
        "option": False,
        "active": True,
        "contract": True,
        "linear": True,
        "inverse": False,
        "contractSize": 1.0,
        "expiry": None,
        "expiryDatetime": None,
        "taker": p["taker"],
        "maker": p["maker"],
        "precision": {"amount": p["qty_step"], "price": p["tick_size"]},
        "limits": {
            "leverage": {"min": 1.0, "max": p["tiers"][0]["max_leverage"]},
            "amount": {"min": p["min_qty"], "max": None},
            "price": {"min": p["tick_size"], "max": None},
            "cost": {"min": p["min_notional"], "max": None},
        },
        "marginModes": {"cross": True, "isolated": True},
        "created": None,
        "info": {"symbol": p["id"], "status": "Trading", "contractType": "LinearPerpetual"},
    }


def ccxt_tiers(p: dict[str, Any]) -> list[dict[str, Any]]:
    """ccxt leverage tiers; ``info.cum`` carries the maintenance deduction freqtrade reads."""
    return [
        {
            "tier": n + 1,
            "symbol": p["pair"],
            "currency": "USDT",
            "minNotional": t["floor"],
            "maxNotional": t["cap"],
            "maintenanceMarginRate": t["mmr"],
            "maxLeverage": t["max_leverage"],
            "info": {"cum": str(t["mm_deduction"])},
        }
        for n, t in enumerate(p["tiers"])
    ]


def install(pairs_file: Path) -> None:
    """Answer ccxt's Bybit market, currency and tier requests from ``pairs_file``."""
    import ccxt
    import ccxt.async_support as ccxt_async

    pairs = json.loads(pairs_file.read_text(encoding="utf-8"))["pairs"]
    markets = [ccxt_market(p) for p in pairs]
    tiers = {p["pair"]: ccxt_tiers(p) for p in pairs}

    async def fetch_markets_async(self: Any, params: Any = None) -> list[dict[str, Any]]:
        return [dict(m) for m in markets]

    async def fetch_currencies_async(self: Any, params: Any = None) -> dict[str, Any]:
        return {}

    def fetch_markets(self: Any, params: Any = None) -> list[dict[str, Any]]:
        return [dict(m) for m in markets]

    def fetch_currencies(self: Any, params: Any = None) -> dict[str, Any]:
        return {}

    def fetch_leverage_tiers(
        self: Any, symbols: Any = None, params: Any = None
    ) -> dict[str, list[dict[str, Any]]]:
        return {k: list(v) for k, v in tiers.items()}

    ccxt_async.bybit.fetch_markets = fetch_markets_async
    ccxt_async.bybit.fetch_currencies = fetch_currencies_async
    ccxt.bybit.fetch_markets = fetch_markets
    ccxt.bybit.fetch_currencies = fetch_currencies
    ccxt.bybit.fetch_leverage_tiers = fetch_leverage_tiers


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    install(Path(sys.argv[1]))
    from freqtrade.main import main as freqtrade_main

    freqtrade_main(sys.argv[2:])


if __name__ == "__main__":
    main()
