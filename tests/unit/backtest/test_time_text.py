"""The outputs' times formatted in one numpy call are the per-stamp ``iso`` text exactly."""

from __future__ import annotations

import numpy as np

from bot.backtest.metrics import EquityCurve, iso, iso_all, monthly_returns

HOUR_MS = 3_600_000


def test_iso_all_is_iso_of_every_stamp() -> None:
    ts = np.array([0, 1_704_067_200_000, 1_704_067_200_999, 1_709_251_199_999,
                   4_102_444_800_000 - 1], dtype=np.int64)  # fmt: skip
    assert iso_all(ts) == [iso(int(t)) for t in ts]
    hours = 1_704_067_200_000 + HOUR_MS * np.arange(24 * 70, dtype=np.int64)
    assert iso_all(hours) == [iso(int(t)) for t in hours]


def test_monthly_returns_close_each_utc_month() -> None:
    # 2024-01-31 23:00 and 2024-02-01 00:00 UTC: the month turns between them.
    ts = np.array([1_706_742_000_000, 1_706_745_600_000, 1_709_251_200_000], dtype=np.int64)
    curve = EquityCurve(ts, np.array([110.0, 121.0, 133.1]), np.zeros(3))
    got = monthly_returns(curve, 100.0)
    assert [k for k, _ in got] == ["2024-01", "2024-02", "2024-03"]
    assert np.allclose([r for _, r in got], [0.10, 0.10, 0.10])
