"""Convert a rotor data directory into freqtrade's futures data (feather), with freqtrade's writer.

Runs inside freqtrade's virtual environment. For every pair of ``PAIRS.json``:

- ``<pair>-1h-futures``: the OHLCV bars, unchanged;
- ``<pair>-1h-mark``: the same bars (rotor's simulator uses last = mark = index price);
- ``<pair>-1h-funding_rate``: one row per settlement (rate at the settlement hour). freqtrade
  joins it to the mark candles on the date and charges ``rate × mark open × amount`` at every
  row inside a trade, so hours without a settlement must be absent, not zero-filled.

Usage: ``<ft-venv>/bin/python convert.py DATA_DIR FT_DATADIR PAIRS.json``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from freqtrade.data.history import get_datahandler
from freqtrade.enums import CandleType

TIMEFRAME = "1h"


def _dates(ms: pd.Series) -> pd.Series:
    return pd.to_datetime(ms, unit="ms", utc=True)


def convert(data: Path, out: Path, pairs: list[dict[str, str]]) -> int:
    """Write the three candle types of every pair; returns the number of pairs written."""
    (out / "futures").mkdir(parents=True, exist_ok=True)
    handler = get_datahandler(out, "feather")
    for p in pairs:
        bars = pd.read_parquet(data / "ohlcv" / f"{p['id']}.parquet")
        ohlcv = pd.DataFrame(
            {
                "date": _dates(bars["timestamp"]),
                **{c: bars[c].astype("float64") for c in ("open", "high", "low", "close")},
                "volume": bars["volume"].astype("float64"),
            }
        )
        handler.ohlcv_store(p["pair"], TIMEFRAME, ohlcv, CandleType.FUTURES)
        handler.ohlcv_store(p["pair"], TIMEFRAME, ohlcv, CandleType.MARK)
        fpath = data / "funding" / f"{p['id']}.parquet"
        fund = pd.read_parquet(fpath) if fpath.is_file() else pd.DataFrame(
            {"timestamp": pd.Series(dtype="int64"), "funding_rate": pd.Series(dtype="float64")}
        )  # fmt: skip
        rates = pd.DataFrame(
            {"date": _dates(fund["timestamp"]), "funding_rate": fund["funding_rate"].astype("float64")}
        )  # fmt: skip
        handler.ohlcv_store(p["pair"], TIMEFRAME, rates, CandleType.FUNDING_RATE)
    return len(pairs)


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    data, out, pairs_file = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    pairs = json.loads(pairs_file.read_text(encoding="utf-8"))["pairs"]
    n = convert(data, out, pairs)
    print(f"converted {n} pairs into {out / 'futures'}")


if __name__ == "__main__":
    main()
