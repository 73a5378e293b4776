"""A small constructed panel with known sector returns, a known laggard and a hot sector.

Log prices follow ``r_t = mu + eps·(-1)^t`` per hour, with ``mu`` switching from 0 to the
symbol's ``mu1`` for the last ``LATE`` hours. Over a 4h bar the alternating part cancels, so
4h closes move by exactly ``4·mu``. Sector "aa" leads and holds one laggard (LAGAUSDT);
"bb" lags and holds a deeper laggard (LAGBUSDT); "cc" is strongest but overheated (funding
ramps up over its last week); "dd" is middling. BTC is flat unless ``btc_mu1`` is given.
"""

from __future__ import annotations

import numpy as np

from bot.data.panel import HOUR_MS, Panel

T = 1400  # 58 days + 8 h; a multiple of 4 so the last 1h bar completes a 4h bar
LATE = 504  # the last 21 days
EPS = 0.002
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z

MU1 = {
    "A1USDT": 0.00045,
    "A2USDT": 0.0004,
    "A3USDT": 0.0004,
    "A4USDT": 0.0004,
    "LAGAUSDT": -0.0002,
    "B1USDT": -0.0001,
    "B2USDT": -0.0001,
    "B3USDT": -0.0001,
    "LAGBUSDT": -0.0006,
    "C1USDT": 0.0008,
    "C2USDT": 0.0008,
    "C3USDT": 0.0008,
    "C4USDT": 0.0008,
    "D1USDT": 0.0001,
    "D2USDT": 0.0001,
    "D3USDT": 0.0001,
    "D4USDT": 0.0001,
}
SECTOR = {s: ("aa" if s.startswith(("A", "LAGA")) else s[0].lower() * 2) for s in MU1}
SECTOR["LAGBUSDT"] = "bb"


def build(
    btc_mu1: float = 0.0, hot_funding: float = 0.003, c_recent_mu: float | None = None
) -> Panel:
    """The constructed panel (see the module docstring)."""
    symbols = ["BTCUSDT", *MU1]
    sectors: list[str | None] = ["benchmark"] + [SECTOR[s] for s in MU1]
    ts = T0 + np.arange(T, dtype=np.int64) * HOUR_MS
    p = Panel.empty(symbols, sectors, ts)
    t = np.arange(T)
    alt = EPS * np.where(t % 2 == 0, 1.0, -1.0)
    late = t >= T - LATE
    for i, s in enumerate(symbols):
        mu1 = btc_mu1 if s == "BTCUSDT" else MU1[s]
        r = alt + np.where(late, mu1, 0.0)
        if c_recent_mu is not None and SECTOR.get(s) == "cc":
            r = np.where(t >= T - 168, alt + c_recent_mu, r)
        r[0] = 0.0
        logc = np.log(100.0) + np.cumsum(r)
        c = np.exp(logc)
        o = np.concatenate(([c[0]], c[:-1]))
        p.close[i] = c
        p.open[i] = o
        p.high[i] = np.maximum(o, c) * 1.001
        p.low[i] = np.minimum(o, c) * 0.999
        p.volume[i] = 1000.0 + 10.0 * i
        # Settlements at 00/08/16 UTC live at the bar that closes then (open 07, 15, 23).
        settle = ((ts + HOUR_MS) % (8 * HOUR_MS)) == 0
        rate = np.full(T, 0.0001)
        if SECTOR.get(s) == "cc":
            ramp = t >= T - 168
            rate = np.where(ramp, 0.0001 + (hot_funding - 0.0001) * (t - (T - 168)) / 168, rate)
            if s == "C2USDT":
                rate = rate * 1.5  # the hottest member (the shorts rule picks it)
        p.funding[i] = np.where(settle, rate, np.nan)
        p.funding_interval_h[i] = np.where(settle, 8.0, np.nan)
    return p
