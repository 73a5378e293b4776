"""Real-time pacing: --speed X simulated seconds per wall second; 0 = manual."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.data.panel import HOUR_MS
from tests.integration.sim.conftest import N_BARS, START
from tests.simserver import T0, SimHandle, sim_server


async def _time(sim: SimHandle) -> int:
    status, body = await sim.bybit("GET", "/v5/market/time", sign=False)
    assert status == 200
    return int(body["time"])


async def test_speed_paces_bars_with_the_wall_clock(data_dir: Path) -> None:
    # 36,000 simulated s per wall s = ten 1h bars per second.
    async with sim_server(data_dir, start_ms=START, speed=36_000) as sim:
        t0 = await _time(sim)
        await asyncio.sleep(0.45)
        st = await sim.state()
        t1 = await _time(sim)
    assert START <= t0 < START + HOUR_MS
    assert 3 <= (st["barTime"] - START) // HOUR_MS <= 8  # whole bars stepped by the engine
    assert t1 > t0 and t1 - st["barTime"] < HOUR_MS  # reported time runs inside the bar


async def test_manual_mode_moves_only_on_advance(sim: SimHandle) -> None:
    assert await _time(sim) == START
    await asyncio.sleep(0.2)
    assert await _time(sim) == START
    out = await sim.advance(5)
    assert out == {"advanced": 5, "time": START + 5 * HOUR_MS, "atEnd": False}
    rest = N_BARS - (START - T0) // HOUR_MS - 5
    out = await sim.advance(rest + 10)
    assert out["advanced"] == rest and out["atEnd"] is True
    with_error = await sim.admin("POST", "/sim/advance", {"bars": 1})
    assert with_error["advanced"] == 0


async def test_bad_advance_is_a_400(sim: SimHandle) -> None:
    for body in ({"bars": 0}, {"bars": "x"}, [1]):
        try:
            await sim.admin("POST", "/sim/advance", body)
        except RuntimeError as exc:
            assert "400" in str(exc)
        else:
            raise AssertionError(f"{body} accepted")
