"""Paper mode: public data from the venue, fills in a local account; no order reaches the venue."""

from __future__ import annotations

import signal
from pathlib import Path

from bot.data.sample import sample_dir
from bot.domain import OrderStatus
from tests.integration.daemon.harness import START, SYMBOLS, rotor_process, step
from tests.integration.daemon.test_e2e_testnet import db_view
from tests.simserver import sim_subprocess


async def test_paper_trades_locally_and_sends_nothing(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'paper.db'}"
    args = [
        "--data",
        str(sample_dir()),
        "--speed",
        "0",
        "--start",
        START,
        "--symbols",
        ",".join(SYMBOLS),
    ]
    async with sim_subprocess(args) as sim:
        async with rotor_process(
            sim, db_url, tmp_path / "rotor.log", {"ROTOR__MODE": "paper"}
        ) as rotor:
            await step(sim, rotor, 4 * 24)
            status = await rotor.status()
            assert status["mode"] == "paper"
            rotor.signal(signal.SIGTERM)
            assert await rotor.wait_exit(30) == 0
        state = await sim.state()
        requests = await sim.requests()
    orders, _ = await db_view(db_url)
    filled = [o for o in orders.values() if o.status is OrderStatus.FILLED]
    assert filled, "paper mode should have traded in these four days"
    assert state["orders"] == [], "paper orders must never reach the venue"
    private = [p for p in requests.get("endpoints", requests) if "/order/" in str(p)]
    assert not private, f"paper mode called order endpoints: {private}"
