"""Replay start-up reads its data once (issue #20): ``lifecycle.check_start`` loads the
market, refusing a bad file before the database opens, and the venue is built on that same
market, so each spot file is read (and held to the candle rules) once, not twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.data import spotfiles
from bot.data.spotfiles import derive_spot
from bot.runtime import lifecycle
from bot.signals.engine import SignalEngine
from bot.sim.engine import SimEngine
from tests.simserver import make_data_dir


def test_replay_start_reads_each_spot_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_data_dir(tmp_path / "data", n_bars=96)
    names = derive_spot(root, 50.0)
    assert names == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    reads: Counter[str] = Counter()
    real = spotfiles.read_spot

    def counted(path: Path) -> spotfiles.Ohlcv:
        reads[path.stem] += 1
        return real(path)

    monkeypatch.setattr(spotfiles, "read_spot", counted)
    monkeypatch.setattr(lifecycle, "read_spot", counted, raising=False)  # (where it was used)
    s = load_settings(None, {"mode": "replay", "sim": {"data_dir": str(root)}}, environ={})
    market = lifecycle.check_start(s, live_flag=False, environ={})
    assert market is not None and market.spot is not None
    assert reads == dict.fromkeys(names, 1)  # checked before anything is opened
    bundle = lifecycle.open_venue(s, SignalEngine.from_settings(s), market)
    assert isinstance(bundle.engine, SimEngine) and bundle.engine.market is market
    assert reads == dict.fromkeys(names, 1)  # and not read again for the venue
    assert float(bundle.engine.spot_price("BTCUSDT")) > 0
