"""Scale on the wide real universe (issue #18): backtest, one live evaluation and ``rotor scan``
over 50, 150 and ~450 symbols of the shared Binance USD-M data.

Reads ``../shared/data/market/binance-usdm-1h-wide`` (not part of a fresh clone). Each
universe is a slice built by the sample builder's rule over the gap-free window
2025-09-14 -> 2026-03-19 (4,464 hours): per rotation sector the K most traded members
(K = 4, 12, all: 48, 123 and 445 symbols), written once under ``var/bench-wide/``.

    .venv/bin/python bench/bench_wide.py [--sizes 4,12,1000] [--repeat 3] [--eval-repeat 20]

Goals: backtest of the default preset over ~446 x 4,464 <= 5 s and <= 1 GB peak; one live
evaluation over 450 symbols <= 20 ms. Times are wall and CPU (user + system) of child
processes; the machine is shared, so CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.data.sample import build_sample  # noqa: E402

WIDE = ROOT.parent / "shared" / "data" / "market" / "binance-usdm-1h-wide"
START_MS = 1_757_808_000_000  # 2025-09-14T00:00Z
DAYS = 186  # -> 2026-03-19T00:00Z, 4,464 hours
ROTOR = [sys.executable, "-m", "bot.cli"]


def universe(per_sector: int) -> Path:
    """The slice with ``per_sector`` members per rotation sector (built once)."""
    out = ROOT / "var" / "bench-wide" / f"k{per_sector}"
    if not (out / "sample_manifest.json").exists():
        build_sample(WIDE, out, days=DAYS, per_sector=per_sector, start_ms=START_MS)
    return out


def child(args: list[str]) -> dict[str, float]:
    """Run ``rotor ARGS``; wall seconds, CPU seconds and peak RSS (MB) of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run([*ROTOR, *args], capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"rotor {' '.join(args)} failed: {res.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: run the biggest last.
    return {"wall_s": wall, "cpu_s": cpu, "peak_mb": after.ru_maxrss / 1024}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


def live_eval_ms(data: Path, repeat: int) -> dict[str, float]:
    """One live evaluation (the daemon's path) on the window ending at the last bar."""
    from bot.data.build import load_panel
    from bot.signals.engine import SignalEngine
    from bot.signals.params import resolve

    engine = SignalEngine(resolve())
    panel = load_panel(data)
    engine.evaluate(panel)  # warm-up: imports, TA-Lib
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        engine.evaluate(panel)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "symbols": panel.n_symbols,
        "bars": panel.n_bars,
        "wall_ms": round(1e3 * statistics.median(wall), 1),
        "cpu_ms": round(1e3 * statistics.median(cpu), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="4,12,1000", help="members per sector of each universe")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--eval-repeat", type=int, default=20)
    args = ap.parse_args()
    if not WIDE.is_dir():
        raise SystemExit(f"{WIDE} not found: this benchmark reads the shared wide data")
    rows: list[dict[str, Any]] = []
    for k in (int(x) for x in args.sizes.split(",")):
        data = universe(k)
        n = len(json.loads((data / "sample_manifest.json").read_text())["symbols"])
        out = ROOT / "var" / "bench-wide" / f"out-k{k}"
        bt = median_of(
            [
                child(["backtest", "--data", str(data), "--out", str(out)])
                for _ in range(args.repeat)
            ]
        )
        scan = median_of(
            [child(["scan", "--data", str(data), "--json"]) for _ in range(args.repeat)]
        )
        ev = live_eval_ms(data, args.eval_repeat)
        row = {"symbols": n, "backtest": bt, "scan": scan, "live_evaluate": ev}
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| symbols | backtest wall / CPU / peak | scan wall / CPU / peak | live evaluation |")
    print("|---|---|---|---|")
    for r in rows:
        b, s, e = r["backtest"], r["scan"], r["live_evaluate"]
        print(
            f"| {r['symbols']} | {b['wall_s']:.1f} s / {b['cpu_s']:.1f} s / {b['peak_mb']:.0f} MB "
            f"| {s['wall_s']:.1f} s / {s['cpu_s']:.1f} s / {s['peak_mb']:.0f} MB "
            f"| {e['wall_ms']:.0f} ms ({e['cpu_ms']:.0f} ms CPU), {e['bars']} bars |"
        )
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
