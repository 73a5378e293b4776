"""rotor backtest side by side with freqtrade on the same data (issue #19, items 2 and 3).

1. freqtrade (default 2026.9, ``--ft-version``) is installed from PyPI into its own virtual
   environment, outside rotor's ``.venv`` (``--ft-venv``, default ``var/freqtrade-<version>``),
   and reused when it is already there.
2. ``rotor sim generate --symbols 50 --days 365 --seed 7 --sectors 6`` writes the data;
   ``bench/freqtrade/convert.py`` turns it into freqtrade's futures feather files (bars, mark
   bars = the same bars, funding settlements) and the driver writes ``pairs.json`` (rotor's
   instruments: tick, step, tiers, sector) for the strategy and for freqtrade's market list.
3. rotor runs ``bench/bench_backtest.py``'s workload: ``rotor backtest`` with the rsi-reversion
   preset, fixed 8 % stop, 10x, 5 positions, 2 % risk. freqtrade runs
   ``bench/freqtrade/RotorRsiReversion.py`` (the same rules; docs/backtest.md lists what cannot
   be equal) over the same trading window: from rotor's first cycle to the end of the data,
   with every earlier bar loaded as startup candles, so both compute the indicators over the
   same bars. rotor's first cycle is 27 h in (``SignalEngine.warmup_hours``: ADX(14) on 1h
   bars), so freqtrade gets 27 startup candles.
4. Timed runs alternate between the tools (``--repeat``); each is a whole child command
   (interpreter start, imports, loading, signals, the loop, the tool's result files).
   Peak memory: the largest process exactly (``ru_maxrss``) and the process tree's sum,
   sampled every 0.1 s; CPU time (user + system) beside the wall time, as the machine is
   shared and its load stretches wall times far more than CPU times. Then: trades, return and the entries both made (same symbol, same
   entry bar).
5. ``--explain`` re-runs freqtrade (untimed) with the four rotor rules it lacks emulated
   (``RotorRsiReversionEmulated``: rank, slot, risk, slip), then with each one left out, and
   prints the entries that agree: what each difference costs on its own.
6. ``--hyperopt N`` runs ``freqtrade hyperopt`` for N epochs per ``--jobs`` value (rotor's
   search space for the preset, Sharpe loss) and prints trials per minute, for the whole
   command and for its optimisation phase alone (from freqtrade's log).
7. ``--from-start`` trades the whole data instead: rotor with ``--from <first bar>``,
   freqtrade without startup candles; the first entries show the warm-up (the same trades as
   the default window for this preset: nothing can enter before ADX(14) exists, bar 27).

freqtrade has no network here: ``bench/freqtrade/offline.py`` answers its market and
leverage-tier requests from ``pairs.json`` (everything else in freqtrade runs unmodified).

Usage: ``.venv/bin/python bench/bench_freqtrade.py [--repeat 3] [--explain] [--from-start]
[--hyperopt 10 --jobs 1 2] [--work var/ftbench] [--ft-venv PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "bench" / "freqtrade")]

from bench_backtest import CONFIG  # noqa: E402  (the same rotor workload, one definition)
from entries import agreement, freqtrade_result, freqtrade_trades, rotor_trades  # noqa: E402
from measure import Measured, run_checked  # noqa: E402
from prepare import (  # noqa: E402
    FT_DIR,
    HOUR_MS,
    ROTOR,
    child_env,
    ensure_data,
    ensure_freqtrade,
    ensure_ft_data,
    iso,
    ms_of,
    write_ft_config,
    write_pairs,
)

RULES = ("rank", "slot", "risk", "slip")
# All four rotor rules, then each one left out: what that difference alone costs.
EXPLAIN = (RULES, *(tuple(r for r in RULES if r != out) for out in RULES))


class Bench:
    """Paths, the trading window and the commands of one benchmark session."""

    def __init__(self, args: argparse.Namespace, py: Path, pairs: dict[str, Any]) -> None:
        self.args, self.py, self.pairs = args, py, pairs
        w = args.work.resolve()
        self.work, self.data, self.ft_data = w, w / "data", w / "ft-data"
        self.pairs_file, self.userdir = w / "pairs.json", w / "ft-user"
        self.rotor_cfg, self.logs = w / "rotor.toml", w / "logs"
        self.ids = {p["pair"]: p["id"] for p in pairs["pairs"]}
        self.rotor_from = ["--from", iso(pairs["first_ms"])] if args.from_start else []
        self.start_ms = pairs["first_ms"]  # rotor's first cycle (set from its first run)

    def rotor(self, name: str) -> tuple[Measured, Path]:
        out = self.work / "runs" / name
        cmd = [*ROTOR, "backtest", "--data", str(self.data), "--config", str(self.rotor_cfg),
               *self.rotor_from, "--out", str(out)]  # fmt: skip
        m = run_checked(cmd, self.logs / f"{name}.log", timeout=self.args.timeout,
                        what="rotor backtest", cwd=ROOT, env=child_env())  # fmt: skip
        return m, out

    def ft_config(self, name: str, emulate: tuple[str, ...] = ()) -> Path:
        return write_ft_config(self.work / f"{name}.json", self.pairs, self.ft_data,
                               self.pairs_file, self.start_ms, emulate)  # fmt: skip

    def ft_cmd(self, command: str, config: Path) -> list[str]:
        start = datetime.fromtimestamp(self.start_ms / 1000, tz=UTC)
        return [str(self.py), str(FT_DIR / "offline.py"), str(self.pairs_file), command,
                "--config", str(config), "--strategy-path", str(FT_DIR),
                "--userdir", str(self.userdir), "--datadir", str(self.ft_data),
                "--timerange", start.strftime("%Y%m%dT%H%M-"), "--no-color"]  # fmt: skip

    def freqtrade(self, name: str, config: Path) -> tuple[Measured, Path]:
        out = self.work / "runs" / name
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("backtest-result-*"):
            old.unlink()
        cmd = [*self.ft_cmd("backtesting", config), "--export", "trades",
               "--backtest-directory", str(out), "--cache", "none"]  # fmt: skip
        m = run_checked(cmd, self.logs / f"{name}.log", timeout=self.args.timeout,
                        what="freqtrade backtesting", env=child_env())  # fmt: skip
        return m, out

    def hyperopt(self, name: str, config: Path, epochs: int, jobs: int) -> Measured:
        cmd = [*self.ft_cmd("hyperopt", config), "--hyperopt-loss", "SharpeHyperOptLoss",
               "--spaces", "buy", "sell", "-e", str(epochs), "-j", str(jobs),
               "--random-state", "7", "--disable-param-export", "--min-trades", "1"]  # fmt: skip
        return run_checked(cmd, self.logs / f"{name}.log", timeout=self.args.hyperopt_timeout,
                           what="freqtrade hyperopt", env=child_env())  # fmt: skip


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def row(label: str, ms: list[Measured], extra: str) -> str:
    if not ms:
        return f"{label:<18} {'(not timed)':>45}   {extra}"
    walls = [m.wall_s for m in ms]
    runs = " ".join(f"{w:.2f}" for w in walls)
    return (f"{label:<18} {median(walls):>8.2f} {min(walls):>8.2f} "
            f"{median([m.cpu_s for m in ms]):>8.2f} "
            f"{max(m.max_proc_mb for m in ms):>9.0f} {max(m.tree_peak_mb for m in ms):>9.0f}"
            f"   {extra}   [{runs}]")  # fmt: skip


def _stamps(log: Path, keys: tuple[str, ...]) -> dict[str, datetime]:
    """Timestamp of the first log line containing each key (freqtrade's log format)."""
    out: dict[str, datetime] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line[:2] != "20" or len(line) < 23:
            continue
        t = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
        out.setdefault("first", t)
        out["last"] = t
        for key in keys:
            if key in line and key not in out:
                out[key] = t
    return out


# freqtrade's backtesting log lines that open each phase, and the phase names.
_PHASES = (
    ("first", "start-up (config, exchange, strategy)"),
    ("Loading data from", "data load"),
    ("Dataload complete", "indicators and signals"),
    ("Backtesting with data from", "loop and results"),
    ("last", ""),
)


def freqtrade_phases(m: Measured) -> list[tuple[str, float]]:
    """Seconds per phase of one freqtrade backtest; before the first log line is the
    interpreter start and imports."""
    st = _stamps(m.log, tuple(k for k, _ in _PHASES))
    if not all(k in st for k, _ in _PHASES):
        return []
    out = [("interpreter and imports", m.wall_s - (st["last"] - st["first"]).total_seconds())]
    for (a, name), (b, _) in pairwise(_PHASES):
        out.append((name, (st[b] - st[a]).total_seconds()))
    return out


def hyperopt_phase_s(log: Path) -> float | None:
    """Seconds of the optimisation itself: from freqtrade's "Effective number of parallel
    workers" line to its "epochs saved" line (data load and indicators come before)."""
    a, b = "Effective number of parallel workers", "epochs saved to"
    st = _stamps(log, (a, b))
    return (st[b] - st[a]).total_seconds() if a in st and b in st else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per tool (default 3)")
    ap.add_argument("--symbols", type=int, default=50)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--work", type=Path, default=ROOT / "var" / "ftbench")
    ap.add_argument("--ft-version", default="2026.9")
    ap.add_argument("--ft-venv", type=Path, default=None, help="default var/freqtrade-<version>")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per backtest")
    ap.add_argument("--from-start", action="store_true", help="trade from the first bar")
    ap.add_argument("--explain", action="store_true", help="freqtrade with rotor's rules")
    ap.add_argument("--hyperopt", type=int, default=0, metavar="EPOCHS")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--hyperopt-timeout", type=float, default=7200)
    args = ap.parse_args()
    venv = (args.ft_venv or ROOT / "var" / f"freqtrade-{args.ft_version}").resolve()
    py = ensure_freqtrade(venv, args.ft_version, timeout=3600)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    ensure_data(work / "data", args.symbols, args.days, args.seed)
    pairs = write_pairs(work / "data", work / "pairs.json")
    b = Bench(args, py, pairs)
    ensure_ft_data(py, b.data, b.ft_data, b.pairs_file, timeout=args.timeout)
    b.rotor_cfg.write_text(CONFIG, encoding="utf-8")
    if not (b.userdir / "backtest_results").is_dir():
        subprocess.run([str(py), "-m", "freqtrade", "create-userdir", "--userdir", str(b.userdir)],
                       check=True, capture_output=True, timeout=300)  # fmt: skip

    # An untimed run of each tool first: it fills the OS file cache and compiles bytecode for
    # both, its trades are the ones compared (both tools are deterministic), and rotor's
    # summary gives the trading window freqtrade must use.
    _, rotor_out = b.rotor("rotor-first")
    summary = json.loads((rotor_out / "summary.json").read_text())
    b.start_ms = ms_of(summary["start"])
    ft_cfg = b.ft_config("freqtrade")
    _, ft_out = b.freqtrade("freqtrade-first", ft_cfg)
    print(f"{load()} before the timed runs", flush=True)
    timed: dict[str, list[Measured]] = {"rotor": [], "freqtrade": []}
    for k in range(args.repeat):
        timed["rotor"].append(b.rotor(f"rotor-{k}")[0])
        timed["freqtrade"].append(b.freqtrade(f"freqtrade-{k}", ft_cfg)[0])
        print(f"run {k + 1}: rotor {timed['rotor'][-1].wall_s:.2f} s, "
              f"freqtrade {timed['freqtrade'][-1].wall_s:.2f} s; {load()}", flush=True)  # fmt: skip

    rt = rotor_trades(rotor_out)
    ft_res = freqtrade_result(ft_out)
    ft = freqtrade_trades(ft_res, b.ids)
    bars = (pairs["last_ms"] - b.start_ms) // HOUR_MS + 1
    print(f"\n{args.symbols} symbols × {args.days * 24} 1h bars (seed {args.seed}); both trade "
          f"{iso(b.start_ms)} → the end ({bars} bars); rsi-reversion, 8 % stop, 5 slots, "
          f"2 % risk; {len(os.sched_getaffinity(0))} CPUs")  # fmt: skip
    print(f"{'':<18} {'median s':>8} {'min s':>8} {'CPU s':>8} {'proc MB':>9} {'tree MB':>9}   "
          "trades, return   [every run's wall s]")  # fmt: skip
    print(row("rotor backtest", timed["rotor"],
              f"{summary['trades']} trades, {summary['total_return']:+.2%}"))  # fmt: skip
    print(row(f"freqtrade {args.ft_version}", timed["freqtrade"],
              f"{ft_res['total_trades']} trades, {ft_res['profit_total']:+.2%}"))  # fmt: skip
    if args.repeat:
        ratio = median([m.wall_s for m in timed["freqtrade"]]) / median(
            [m.wall_s for m in timed["rotor"]]
        )
        cpu = median([m.cpu_s for m in timed["freqtrade"]]) / median(
            [m.cpu_s for m in timed["rotor"]]
        )
        print(f"freqtrade / rotor (medians): wall time {ratio:.1f}×, CPU time {cpu:.1f}×")
        mid = sorted(timed["freqtrade"], key=lambda m: m.wall_s)[(args.repeat - 1) // 2]
        print("freqtrade's median run by phase (its log): " + ", ".join(
            f"{name} {sec:.1f} s" for name, sec in freqtrade_phases(mid)))  # fmt: skip
    agree = agreement(rt, ft, b.start_ms)
    print(f"same entries (symbol and entry bar): {agree.both} = {agree.of_rotor:.1%} of rotor's "
          f"{agree.rotor}, {agree.of_freqtrade:.1%} of freqtrade's {agree.freqtrade}")  # fmt: skip
    firsts = [min(t["entry_ms"] for t in trades) for trades in (rt, ft)]
    print("first entry: " + ", ".join(
        f"{who} {iso(t)} (bar {(t - pairs['first_ms']) // HOUR_MS} of the data)"
        for who, t in zip(("rotor", "freqtrade"), firsts, strict=True)))  # fmt: skip

    if args.explain:
        print("\nfreqtrade with the rotor rules it lacks (RotorRsiReversionEmulated, untimed):")
        for emulate in EXPLAIN:
            name = "freqtrade-" + "-".join(emulate)
            _, out = b.freqtrade(name, b.ft_config(name, emulate))
            r = freqtrade_result(out)
            a = agreement(rt, freqtrade_trades(r, b.ids), b.start_ms)
            left = [x for x in RULES if x not in emulate]
            label = "all four" if not left else f"all but {left[0]}"
            print(f"  {label:<14} {r['total_trades']:>4} trades, {r['profit_total']:+8.2%}; "
                  f"same entries {a.both} = {a.of_rotor:.1%} of rotor's, "
                  f"{a.of_freqtrade:.1%} of freqtrade's", flush=True)  # fmt: skip

    if args.hyperopt:
        print(f"\nfreqtrade hyperopt, {args.hyperopt} epochs (buy + sell spaces, Sharpe loss, "
              "same window):")  # fmt: skip
        for jobs in args.jobs:
            m = b.hyperopt(f"hyperopt-j{jobs}", ft_cfg, args.hyperopt, jobs)
            phase = hyperopt_phase_s(m.log)
            opt = f", {args.hyperopt / phase * 60:.2f} in the optimisation phase ({phase:.0f} s)"
            print(f"  -j {jobs}: {m.wall_s:.0f} s whole command ({m.cpu_s:.0f} s CPU) = "
                  f"{args.hyperopt / m.wall_s * 60:.2f} trials/min{opt if phase else ''}; "
                  f"peak {m.max_proc_mb:.0f} MB largest process, {m.tree_peak_mb:.0f} MB tree; "
                  f"{load()}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
