"""rotor's ``rsi-reversion`` preset as a freqtrade strategy (for ``bench/bench_freqtrade.py``).

The rules, as close as freqtrade allows (docs/backtest.md, "Side by side with freqtrade"):

- entry long when RSI(14) < 30 and ADX(14) < 25 on the closed 1h candle, at the next open;
- exit when RSI(14) >= 50 (next open); optional time stop (0 = off, rotor's default here);
- a fixed 8 % price stop: freqtrade's ``stoploss`` is a fraction of the *stake*, so it is
  8 % × leverage; freqtrade fills it at the stop price, or at the open when the candle opens
  beyond it, like rotor's simulator;
- isolated futures at 7x: rotor's config asks for 10x and its risk manager lowers every entry
  to the largest leverage whose liquidation stays >= 12 % away (7.11x, 7.66x or 7.96x on
  these tiers); one integer leverage keeps one stoploss value = an 8 % price stop for every
  pair. Leverage only sets margin and liquidation, never the size or the PnL;
- size: risk 2 % of the balance per trade including a round-trip cost allowance, like rotor's
  ``N = R / (d_stop + c)`` (freqtrade's balance excludes open PnL, rotor's equity includes it);
- at most 5 trades (``max_open_trades``) and 2 per sector (rotor's
  ``risk.max_positions_per_sector`` default; freqtrade has no such setting, so it is checked
  in ``confirm_trade_entry``).

``RotorRsiReversionEmulated`` adds, for the explanation runs only (``ftbench.emulate`` in the
config), the rotor rules freqtrade does not have; the timed runs use ``RotorRsiReversion``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import talib
from freqtrade.persistence import Trade
from freqtrade.strategy import IntParameter, IStrategy
from pandas import DataFrame

STOP_PCT = 0.08  # rotor: strategy.stop_mode = "fixed", stop_pct = 0.08
LEVERAGE = 7.0
RISK_PER_TRADE = 0.02  # rotor: risk.risk_per_trade
COST_ALLOWANCE = 0.0021  # rotor: risk.cost_allowance (default)
MAX_PER_SECTOR = 2  # rotor: risk.max_positions_per_sector (default)
MAX_TOTAL_OPEN_RISK = 0.10  # rotor: risk.max_total_open_risk (bench_backtest.py's config)
SLIPPAGE = 0.0005  # rotor: backtest.slippage (default)


class RotorRsiReversion(IStrategy):
    """RSI < 30 & ADX < 25 → RSI ≥ 50, fixed 8 % stop, 5 slots, 2 % risk."""

    INTERFACE_VERSION = 3
    timeframe = "1h"
    can_short = False
    minimal_roi: ClassVar[dict[str, float]] = {"0": 100.0}  # no ROI exits
    stoploss = -STOP_PCT * LEVERAGE
    trailing_stop = False
    use_exit_signal = True
    exit_profit_only = False
    ignore_roi_if_entry_signal = False
    process_only_new_candles = True
    startup_candle_count = 0  # set from the config (see __init__)

    # rotor's search space for this preset (bot/backtest/space.py), in freqtrade's parameters.
    rsi_oversold = IntParameter(18, 35, default=30, space="buy")
    adx_max = IntParameter(15, 35, default=25, space="buy")
    exit_rsi = IntParameter(42, 65, default=50, space="sell")
    time_stop_6h = IntParameter(0, 12, default=0, space="sell")  # × 6 bars, 0 = off

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        bench = config.get("ftbench", {})
        self.startup_candle_count = int(bench.get("startup_candle_count", 0))
        pairs = json.loads(Path(bench["pairs_file"]).read_text(encoding="utf-8"))["pairs"]
        self.sector = {p["pair"]: p["sector"] for p in pairs}

    # ------------------------------------------------------------------ signals

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        high, low, close = (
            dataframe[c].to_numpy(dtype=np.float64) for c in ("high", "low", "close")
        )
        dataframe["rsi"] = talib.RSI(close, timeperiod=14)
        dataframe["adx"] = talib.ADX(high, low, close, timeperiod=14)
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        signal = (dataframe["rsi"] < self.rsi_oversold.value) & (
            dataframe["adx"] < self.adx_max.value
        )
        dataframe.loc[signal, "enter_long"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[dataframe["rsi"] >= self.exit_rsi.value, "exit_long"] = 1
        return dataframe

    def custom_exit(
        self, pair: str, trade: Trade, current_time: datetime, current_rate: float,
        current_profit: float, **kwargs: Any,
    ) -> str | None:  # fmt: skip
        bars = 6 * self.time_stop_6h.value
        if bars and current_time - trade.open_date_utc >= timedelta(hours=bars):
            return "time_stop"
        return None

    # ------------------------------------------------------------------ risk

    def leverage(self, pair: str, current_time: datetime, current_rate: float,
                 proposed_leverage: float, max_leverage: float, entry_tag: str | None,
                 side: str, **kwargs: Any) -> float:  # fmt: skip
        return min(LEVERAGE, max_leverage)

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float,
                            proposed_stake: float, min_stake: float | None, max_stake: float,
                            leverage: float, entry_tag: str | None, side: str,
                            **kwargs: Any) -> float:  # fmt: skip
        balance = self.wallets.get_total_stake_amount()
        notional = balance * RISK_PER_TRADE / (STOP_PCT + COST_ALLOWANCE)
        return min(notional / leverage, max_stake)

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag: str | None,
                            side: str, **kwargs: Any) -> bool:  # fmt: skip
        sector = self.sector[pair]
        held = sum(1 for t in Trade.get_open_trades() if self.sector[t.pair] == sector)
        return held < MAX_PER_SECTOR


class RotorRsiReversionEmulated(RotorRsiReversion):
    """The same strategy plus rotor rules freqtrade lacks, chosen by ``ftbench.emulate``.

    For the explanation runs only (the timed runs use :class:`RotorRsiReversion`):

    - ``rank``: more candidates than free slots → lowest RSI first (rotor's ``rank_by =
      "rsi"``), not freqtrade's whitelist order;
    - ``slot``: a slot freed by a stop inside candle t is free from t+1's open: rotor decides
      at t's open, when that position was still open;
    - ``risk``: rotor's ``risk.max_total_open_risk`` (open risk = Σ qty·(price − stop) plus
      the new trade's risk ≤ 10 % of equity) and sizing on equity including open PnL;
    - ``slip``: rotor's simulated slippage (fills at open·(1 ± 0.05 %), rounded adversely to
      the tick), with limit orders at that price; the 8 % stop then sits where rotor's does.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.emulate = set(config["ftbench"].get("emulate", ()))
        pairs = json.loads(Path(config["ftbench"]["pairs_file"]).read_text(encoding="utf-8"))
        self.tick = {p["pair"]: p["tick_size"] for p in pairs["pairs"]}
        # Entry candidates per signal candle and every pair's opens, both by candle date.
        self.candidates: dict[datetime, list[tuple[float, str]]] = defaultdict(list)
        self.opens: dict[str, dict[datetime, float]] = {}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dates = [d.to_pydatetime() for d in dataframe["date"]]
        self.opens[metadata["pair"]] = dict(zip(dates, dataframe["open"].tolist(), strict=True))
        return super().populate_indicators(dataframe, metadata)

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe = super().populate_entry_trend(dataframe, metadata)
        if "enter_long" not in dataframe:  # no signal at all for this pair
            return dataframe
        hits = dataframe.loc[dataframe["enter_long"] == 1, ["date", "rsi"]]
        for date, rsi in zip(hits["date"], hits["rsi"], strict=True):
            self.candidates[date.to_pydatetime()].append((float(rsi), metadata["pair"]))
        return dataframe

    # ------------------------------------------------------------------ slip

    def _slipped(self, pair: str, price: float, side: int) -> float:
        tick = self.tick[pair]
        raw = price * (1 + side * SLIPPAGE) / tick
        return (math.ceil(raw - 1e-9) if side > 0 else math.floor(raw + 1e-9)) * tick

    def custom_entry_price(self, pair: str, trade: Trade | None, current_time: datetime,
                           proposed_rate: float, entry_tag: str | None, side: str,
                           **kwargs: Any) -> float:  # fmt: skip
        return self._slipped(pair, proposed_rate, +1) if "slip" in self.emulate else proposed_rate

    def custom_exit_price(self, pair: str, trade: Trade, current_time: datetime,
                          proposed_rate: float, current_profit: float, exit_tag: str | None,
                          **kwargs: Any) -> float:  # fmt: skip
        return self._slipped(pair, proposed_rate, -1) if "slip" in self.emulate else proposed_rate

    # ------------------------------------------------------------------ risk

    def _held(self, now: datetime) -> list[Trade]:
        """Positions rotor's decision at the open of candle ``now`` sees."""
        held = [t for t in Trade.get_open_trades() if t.open_date_utc < now]
        if "slot" in self.emulate:
            # Stopped inside this candle: still open at its open, when rotor decides.
            for t in reversed(Trade.get_trades_proxy(is_open=False)):  # in closing order
                if t.close_date_utc < now:
                    break
                if t.exit_reason in ("stop_loss", "liquidation"):
                    held.append(t)
        return held

    def _open_at(self, t: Trade, now: datetime) -> float:
        """The open of candle ``now`` for ``t``'s pair (its entry price if it has no candle)."""
        return self.opens[t.pair].get(now, t.open_rate)

    def _equity(self, now: datetime, held: list[Trade]) -> float:
        """Balance plus open PnL at the candle's open (rotor's equity)."""
        balance = self.wallets.get_total_stake_amount()
        return balance + sum(t.calc_profit(self._open_at(t, now)) for t in held if t.is_open)

    def custom_stake_amount(self, pair: str, current_time: datetime, current_rate: float,
                            proposed_stake: float, min_stake: float | None, max_stake: float,
                            leverage: float, entry_tag: str | None, side: str,
                            **kwargs: Any) -> float:  # fmt: skip
        if "risk" not in self.emulate:
            return super().custom_stake_amount(
                pair, current_time, current_rate, proposed_stake, min_stake, max_stake,
                leverage, entry_tag, side, **kwargs,
            )  # fmt: skip
        equity = self._equity(current_time, self._held(current_time))
        notional = equity * RISK_PER_TRADE / (STOP_PCT + COST_ALLOWANCE)
        return min(notional / leverage, max_stake)

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag: str | None,
                            side: str, **kwargs: Any) -> bool:  # fmt: skip
        return pair in self._rotor_choice(current_time)

    def _rotor_choice(self, now: datetime) -> set[str]:
        """The entries rotor's cycle approves at the open of candle ``now``, in its order."""
        held = self._held(now)
        names = {t.pair for t in held}
        cands = [
            (r, p) for r, p in self.candidates.get(now - timedelta(hours=1), ()) if p not in names
        ]
        cands.sort(key=(lambda c: c) if "rank" in self.emulate else (lambda c: c[1]))
        per_sector: dict[str, int] = defaultdict(int)
        for t in held:
            per_sector[self.sector[t.pair]] += 1
        free = int(self.config["max_open_trades"]) - len(held)
        equity = self._equity(now, held)
        risk = sum(t.amount * max(0.0, self._open_at(t, now) - t.stop_loss) for t in held)
        budget = RISK_PER_TRADE * equity  # a new trade's risk: stop distance plus costs
        chosen: set[str] = set()
        for _, p in cands:
            if len(chosen) >= free:
                break
            if per_sector[self.sector[p]] >= MAX_PER_SECTOR:
                continue
            if "risk" in self.emulate and risk + budget > MAX_TOTAL_OPEN_RISK * equity:
                continue
            per_sector[self.sector[p]] += 1
            risk += budget * STOP_PCT / (STOP_PCT + COST_ALLOWANCE)  # its risk once open
            chosen.add(p)
        return chosen
