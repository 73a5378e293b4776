"""Wall time and peak memory of the whole ``rotor backtest`` command (issue #8, "Benchmark").

Data: ``rotor sim generate --symbols 50 --days 365 --sectors 6`` (50 symbols × 8,760 1h bars).
Config: the ``rsi-reversion`` preset with a fixed 8 % stop, 10x, 5 positions and 2 % risk.
Two settings make those numbers mean what they say: ``risk.max_total_open_risk = 0.10``
(5 positions × 2 % — the default 6 % cap would allow only three) and the account-level
breakers off (``risk.max_drawdown = 1``, ``risk.daily_loss_limit = 1``): with them on, this
synthetic year trips the max-drawdown kill switch in its first weeks and the rest of the run
measures a HALTED account; Freqtrade's run, the reference, has no such breaker either.

The command runs as a child process, timed end to end (interpreter start, imports, data
load, signals, the bar loop, every output file); peak RSS comes from ``getrusage`` of the
child. Goal: ≤ 1.0 s and ≤ 300 MB (Freqtrade: ~12 s / 0.7 GB on this machine).

Usage: ``.venv/bin/python bench/bench_backtest.py [--repeat 5] [--symbols 50] [--days 365]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROTOR = [sys.executable, "-m", "bot.cli"]

CONFIG = """
[strategy]
preset = "rsi-reversion"
stop_mode = "fixed"
stop_pct = 0.08

[risk]
leverage = 10
max_open_positions = 5
risk_per_trade = 0.02
max_total_open_risk = 0.10
max_drawdown = 1.0
daily_loss_limit = 1.0
"""


def run_once(data: Path, config: Path, out: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one ``rotor backtest`` child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*ROTOR, "backtest", "--data", str(data), "--config", str(config), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("ROTOR")},
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"rotor backtest failed:\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far; every run is the same size.
    return wall, max(peak, before) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        data = base / "data"
        gen = subprocess.run(
            [*ROTOR, "sim", "generate", "--symbols", str(args.symbols), "--days", str(args.days),
             "--seed", "7", "--sectors", "6", "--out", str(data)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        print("data:", gen.stdout.strip())
        config = base / "bench.toml"
        config.write_text(CONFIG, encoding="utf-8")
        walls, peaks = [], []
        for k in range(args.repeat):
            wall, peak = run_once(data, config, base / f"out{k}")
            walls.append(wall)
            peaks.append(peak)
            print(f"run {k + 1}: {wall:.3f} s, peak RSS {peak:.0f} MB")
        summary = json.loads((base / "out0" / "summary.json").read_text())
    print(
        f"rotor backtest, {args.symbols} symbols × {args.days * 24} 1h bars, rsi-reversion "
        f"(fixed 8 % stop, 10x, 5 positions, 2 % risk): median {statistics.median(walls):.3f} s "
        f"(min {min(walls):.3f}), peak RSS {max(peaks):.0f} MB; {summary['trades']} trades, "
        f"return {summary['total_return']:.2%}, goal ≤ 1.0 s and ≤ 300 MB"
    )


if __name__ == "__main__":
    main()
