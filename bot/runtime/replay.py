"""Replay mode's summary: what the simulated account did over the replay (the loop that drives
the simulator's clock bar by bar is the daemon's, ``Daemon._replay_loop``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain import TradingState
from bot.observability.logging import get_logger

log = get_logger("rotor.replay")


def summarise(engine: Any, start_equity: Decimal, bars: int, state: TradingState) -> None:
    """Log the replay's figures from the simulator engine (``SimEngine``)."""
    end_equity: Decimal = engine.equity()
    fills = [e for e in engine.executions if e.exec_type == "Trade"]
    entries = sum(1 for e in fills if not e.closed_size)
    fees = sum((e.fee for e in fills), Decimal(0))
    funding = sum((f.amount for f in engine.funding_payments), Decimal(0))
    spot = engine.spot_executions  # the portfolio mode's; a buy's fee is in the coin bought
    spot_fees = sum(
        (e.fee * (1 if e.fee_currency == "USDT" else e.price) for e in spot), Decimal(0)
    )
    ret = (end_equity / start_equity - 1) if start_equity else Decimal(0)
    log.info(
        "replay_summary",
        bars=bars,
        start_equity=str(start_equity.quantize(Decimal("0.01"))),
        end_equity=str(end_equity.quantize(Decimal("0.01"))),
        total_return=f"{float(ret):.2%}",
        entries=entries,
        fills=len(fills),
        fees=str(fees.quantize(Decimal("0.01"))),
        funding=str(funding.quantize(Decimal("0.01"))),
        spot_fills=len(spot),
        spot_fees_usdt=str(spot_fees.quantize(Decimal("0.01"))),
        state=state.value,
    )
