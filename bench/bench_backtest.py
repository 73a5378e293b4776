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
child, and its CPU time (user + sys, ``RUSAGE_CHILDREN``), the figure to read on a shared
machine. Goal (issue #19): ≤ 0.6 s and ≤ 220 MB (Freqtrade: ~12.9 s / 0.7 GB on this machine).

The child runs rotor as installed: with its byte code cached (``child_env``). An installed
rotor has it (pip compiles a wheel's modules; the image's ``pip install`` does), but this
development checkout is an editable install and the machine sets
``PYTHONDONTWRITEBYTECODE=1``, so every run would compile ~200 of rotor's modules from source
first (~0.1 s CPU) — a cost no user pays, and one freqtrade (installed from its wheel) does not
pay either. ``--from-source`` measures that way anyway.

Usage: ``.venv/bin/python bench/bench_backtest.py [--repeat 5] [--symbols 50] [--days 365]
[--from-source]``
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


PYCACHE = ROOT / "var" / "pycache"  # gitignored; the worktree's sources stay untouched


def child_env(from_source: bool = False) -> dict[str, str]:
    """The environment of a timed child: no rotor settings, and rotor's byte code cached under
    ``var/pycache`` as an installed rotor has it (unless ``from_source``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    if not from_source:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def run_once(
    data: Path, config: Path, out: Path, from_source: bool = False
) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds (user + sys), peak RSS MB) of one ``rotor backtest`` child."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = r0.ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*ROTOR, "backtest", "--data", str(data), "--config", str(config), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=child_env(from_source),
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"rotor backtest failed:\n{proc.stderr}")
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    # ru_maxrss of children is the largest child so far; every run is the same size.
    return wall, cpu, max(r1.ru_maxrss, before) / 1024


def workload(base: Path, symbols: int, days: int) -> tuple[Path, Path]:
    """The benchmark's data directory and config file, written under ``base``."""
    data = base / "data"
    gen = subprocess.run(
        [*ROTOR, "sim", "generate", "--symbols", str(symbols), "--days", str(days),
         "--seed", "7", "--sectors", "6", "--out", str(data)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    print("data:", gen.stdout.strip())
    config = base / "bench.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return data, config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--from-source", action="store_true", help="no byte-code cache (see above)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        data, config = workload(base, args.symbols, args.days)
        if not args.from_source:  # untimed: fills the byte-code cache (and the page cache)
            run_once(data, config, base / "warm-up")
        walls, cpus, peaks = [], [], []
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        for k in range(args.repeat):
            wall, cpu, peak = run_once(data, config, base / f"out{k}", args.from_source)
            walls.append(wall)
            cpus.append(cpu)
            peaks.append(peak)
            print(f"run {k + 1}: {wall:.3f} s wall, {cpu:.3f} s CPU, peak RSS {peak:.0f} MB")
        summary = json.loads((base / "out0" / "summary.json").read_text())
    print(
        f"rotor backtest, {args.symbols} symbols × {args.days * 24} 1h bars, rsi-reversion "
        f"(fixed 8 % stop, 10x, 5 positions, 2 % risk): median {statistics.median(walls):.3f} s "
        f"wall (min {min(walls):.3f}), {statistics.median(cpus):.3f} s CPU (min {min(cpus):.3f}), "
        f"peak RSS {max(peaks):.0f} MB; {summary['trades']} trades, return "
        f"{summary['total_return']:.2%}; goal ≤ 0.6 s and ≤ 220 MB (issue #19); "
        f"{'from source' if args.from_source else 'byte code cached'}; load average after "
        f"{os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
