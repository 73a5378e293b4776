"""Replay mode: rotor drives the simulator's clock bar by bar through the same cycle."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bot.observability.logging import get_logger

if TYPE_CHECKING:
    from bot.runtime.daemon import Daemon

log = get_logger("rotor.replay")


async def replay_loop(d: Daemon) -> None:
    """Cycle on every closed bar until the data ends (or a stop), then close out and summarise."""
    engine: Any = d.bundle.engine
    speed = d.settings.sim.speed
    start_equity = engine.equity()
    bars = 0
    while not d.stop_event.is_set():
        await d.handle_operator_requests()
        if await d.cycle_if_new_bar():
            bars += 1
            if bars % 24 == 0:
                d.degraded.sample()
        if engine.at_end:
            break
        engine.advance(1)
        if speed > 0:
            await d._sleep(3600.0 / speed)
        elif bars % 50 == 0:
            await asyncio.sleep(0)  # let the control API and signals breathe
    if engine.at_end:
        await d.core.close_out("end of data")
        summarise(d, start_equity, bars)


def summarise(d: Daemon, start_equity: Decimal, bars: int) -> None:
    engine: Any = d.bundle.engine
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
        state=d.state.state.value,
    )
