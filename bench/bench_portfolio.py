"""Wall time, CPU time and peak memory of ``rotor backtest --mode portfolio`` (issue #20).

The command runs as a child process, timed end to end (imports, data load, the signal
layers once, then three runs of the daemon's ``PortfolioCore`` on ``BacktestRunner``: the
portfolio and its two baselines, and the report). CPU time is user + sys of the child
(``RUSAGE_CHILDREN``), the figure to read on a shared machine; the load average is printed
with it.

Usage:
  .venv/bin/python bench/bench_portfolio.py                       # the bundled sample, defaults
  .venv/bin/python bench/bench_portfolio.py --data ../shared/data/market/binance-usdm-1h-wide \\
      --from 2025-05-01T00:00:00Z --to 2026-02-19T00:00:00Z [--set risk.max_drawdown=0.5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROTOR = [sys.executable, "-m", "bot.cli"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=None, help="default: the bundled sample")
    ap.add_argument("--from", dest="start", default=None)
    ap.add_argument("--to", dest="end", default=None)
    ap.add_argument("--set", action="append", default=[], help="key=value (ROTOR__ env)")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    if a.data is None:
        from bot.data.sample import sample_dir

        a.data = sample_dir()
    env = dict(os.environ, TZ="UTC")
    for kv in a.set:
        key, _, val = kv.partition("=")
        env["ROTOR__" + key.upper().replace(".", "__")] = val
    for _ in range(a.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [*ROTOR, "backtest", "--mode", "portfolio", "--data", str(a.data)]
            cmd += ["--out", tmp]
            cmd += ["--from", a.start] if a.start else []
            cmd += ["--to", a.end] if a.end else []
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            s = json.loads((Path(tmp) / "summary.json").read_text())
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        pf = s["portfolio"]
        print(
            json.dumps(
                {
                    "wall_s": round(wall, 2),
                    "cpu_s": round(cpu, 2),
                    "peak_rss_mb": round(after.ru_maxrss / 1024),
                    "load": Path("/proc/loadavg").read_text().split()[:3],
                    "bars": s["bars"],
                    "rebalances": s["rebalances"],
                    "return": pf["total_return"],
                    "spot_orders": pf["spot_orders"],
                    "perp_orders": pf["perp_orders"],
                }
            )
        )


if __name__ == "__main__":
    main()
