"""Everything both tools need before a timed run: freqtrade's venv, the data, the configs.

Runs in the driver's interpreter (rotor's). Each step is skipped when its result is already
there (a marker file records what was built), so a second benchmark session starts at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FT_DIR = Path(__file__).resolve().parent
ROOT = FT_DIR.parents[1]
ROTOR = [sys.executable, "-m", "bot.cli"]
STRATEGY = "RotorRsiReversion"
HOUR_MS = 3_600_000


def child_env() -> dict[str, str]:
    """The environment without rotor's settings (both tools read only their own files), both
    run as installed: byte code cached (``bench_backtest.child_env``; freqtrade's was compiled
    when pip installed it)."""
    from bench_backtest import child_env as installed

    return installed()


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ms_of(iso_text: str) -> int:
    return int(datetime.fromisoformat(iso_text.replace("Z", "+00:00")).timestamp() * 1000)


def ensure_freqtrade(venv: Path, version: str, timeout: float) -> Path:
    """freqtrade ``version`` in its own venv at ``venv`` (installed once); returns its python."""
    py = venv / "bin" / "python"
    probe = [str(py), "-c", "import freqtrade, talib; print(freqtrade.__version__)"]
    if py.exists():
        have = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=False)
        if have.returncode == 0 and have.stdout.strip() == version:
            return py
    if venv.is_dir() and any(venv.iterdir()) and not (venv / "pyvenv.cfg").is_file():
        raise SystemExit(f"--ft-venv {venv}: not empty and not a virtual environment")
    print(f"installing freqtrade {version} into {venv} (PyPI; a few minutes) …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    install = [str(py), "-m", "pip", "install", "-q", f"freqtrade[hyperopt]=={version}"]
    if subprocess.run(install, timeout=timeout, check=False).returncode != 0:
        raise SystemExit(
            f"pip could not install freqtrade=={version} into {venv}; "
            "pass --ft-version with the newest installable release"
        )
    got = subprocess.run(probe, capture_output=True, text=True, timeout=120, check=True)
    print(f"freqtrade {got.stdout.strip()} ready", flush=True)
    return py


def ensure_data(data: Path, symbols: int, days: int, seed: int) -> None:
    """``rotor sim generate`` into ``data`` unless the same data is already there."""
    marker = data / "ftbench.json"
    spec = {"symbols": symbols, "days": days, "seed": seed, "sectors": 6}
    if marker.is_file() and json.loads(marker.read_text()) == spec:
        return
    gen = [*ROTOR, "sim", "generate", "--symbols", str(symbols), "--days", str(days),
           "--seed", str(seed), "--sectors", "6", "--out", str(data)]  # fmt: skip
    subprocess.run(gen, cwd=ROOT, env=child_env(), check=True, timeout=600)
    marker.write_text(json.dumps(spec), encoding="utf-8")


def write_pairs(data: Path, out: Path) -> dict[str, Any]:
    """rotor's view of every instrument (as its simulator derives it), for freqtrade."""
    from bot.backtest.data import load_market

    market = load_market(data)
    pairs = []
    for s in market.symbols:
        inst = market.instruments[s]
        tiers = [
            {"floor": float(t.floor), "cap": float(t.cap), "mmr": float(t.mmr),
             "max_leverage": float(t.max_leverage), "mm_deduction": float(t.mm_deduction)}
            for t in inst.tiers
        ]  # fmt: skip
        pairs.append(
            {
                "id": s,
                "base": inst.base,
                "pair": f"{inst.base}/USDT:USDT",
                "sector": inst.sector or "unmapped",
                "tick_size": float(inst.tick_size),
                "qty_step": float(inst.qty_step),
                "min_qty": float(inst.min_qty),
                "min_notional": float(inst.min_notional),
                "taker": 0.00055,
                "maker": 0.0002,
                "tiers": tiers,
            }
        )
    doc = {"first_ms": int(market.ts[0]), "last_ms": int(market.ts[-1]), "pairs": pairs}
    out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return doc


def ensure_ft_data(py: Path, data: Path, ft_data: Path, pairs_file: Path, timeout: float) -> None:
    """freqtrade's feather files of ``data`` (``convert.py`` in freqtrade's venv), once."""
    marker = ft_data / "ftbench.json"
    spec = (data / "ftbench.json").read_text()
    if marker.is_file() and marker.read_text() == spec:
        return
    cmd = [str(py), str(FT_DIR / "convert.py"), str(data), str(ft_data), str(pairs_file)]
    subprocess.run(cmd, check=True, timeout=timeout, env=child_env())
    marker.write_text(spec, encoding="utf-8")


def write_ft_config(
    path: Path,
    pairs: dict[str, Any],
    ft_data: Path,
    pairs_file: Path,
    start_ms: int,
    emulate: tuple[str, ...] = (),
) -> Path:
    """The template plus this run's pairs, data directory and strategy settings."""
    cfg = json.loads((FT_DIR / "config.template.json").read_text(encoding="utf-8"))
    cfg.pop("$comment", None)
    cfg["exchange"]["pair_whitelist"] = [p["pair"] for p in pairs["pairs"]]
    cfg["datadir"] = str(ft_data)
    if emulate:
        cfg["strategy"] = STRATEGY + "Emulated"
    if "slip" in emulate:  # slipped fills as limit orders at rotor's fill price
        cfg["order_types"].update(entry="limit", exit="limit")
    cfg["ftbench"] = {
        "pairs_file": str(pairs_file),
        # Every bar before the trading window: indicators over the same bars as rotor's.
        "startup_candle_count": (start_ms - pairs["first_ms"]) // HOUR_MS,
        "emulate": list(emulate),
    }
    path.write_text(json.dumps(cfg, indent=1), encoding="utf-8")
    return path
