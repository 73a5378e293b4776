"""``rotor backtest`` as a user runs it: the files it writes, --compare, and bad input."""

from __future__ import annotations

import csv
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from tests.conftest import ROOT

ROTOR = [sys.executable, "-m", "bot.cli"]
PRESETS = "rotation-reversion,rsi-reversion,laggard-only,sector-momentum"


def rotor(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ROTOR, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
    )


def png_size(path: Path) -> tuple[int, int]:
    """Parse the PNG enough to prove it is one: signature, CRCs, IHDR, IDATs that inflate."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, {}, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        chunks[kind] = body
        idat += body if kind == b"IDAT" else b""
        pos += 12 + n
    w, h, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {2: 3, 6: 4}[color]  # RGB or RGBA
    assert depth == 8
    assert len(zlib.decompress(idat)) == h * (1 + channels * w)
    assert b"IEND" in chunks
    return w, h


def self_contained(html: str) -> None:
    """Nothing is loaded from elsewhere: plotly.js is inlined, no script/style/image URL."""
    low = html.lower()
    for needle in ("<script src", "<script type=\"text/javascript\" src", "<link", "<img",
                   "<iframe", "@import"):  # fmt: skip
        assert needle not in low, needle
    assert "plotly.js v" in low or "plotly.js" in low  # the library itself is in the page


def figures(html: str) -> list[dict]:
    """The plotly figures of a page: each ``Plotly.newPlot(id, data, layout, config)``."""
    dec = json.JSONDecoder()
    out = []
    for part in html.split("</head>", 1)[1].split("Plotly.newPlot(")[1:]:
        rest = part.lstrip()
        args = []
        for _ in range(3):  # the div id, the traces, the layout
            value, i = dec.raw_decode(rest)
            args.append(value)
            rest = rest[i:].lstrip().removeprefix(",").lstrip()
        out.append({"data": args[1], "layout": args[2]})
    return out


def test_backtest_writes_every_output(synth_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = rotor(
        "backtest", "--data", str(synth_dir), "--preset", "rsi-reversion",
        "--from", "2024-01-13", "--to", "2024-02-10T00:00:00Z", "--out", str(out),
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "rsi-reversion" in res.stdout and "return" in res.stdout
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "trades", "win_rate",
        "profit_factor", "exposure", "fees", "funding", "liquidations", "start", "end",
        "config_hash",
    ):  # fmt: skip
        assert key in summary, key
    assert (summary["start"], summary["end"]) == ("2024-01-13T00:00:00Z", "2024-02-10T00:00:00Z")
    assert summary["trades"] > 0
    with (out / "trades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows and list(rows[0])[:12] == [
        "symbol", "side", "entry_time", "entry_price", "exit_time", "exit_price", "qty",
        "leverage", "pnl", "fees", "funding", "exit_reason",
    ]  # fmt: skip
    assert {r["exit_reason"] for r in rows} <= {
        "signal_exit", "time_stop", "stop_loss", "liquidation", "kill_switch", "end_of_data",
    }  # fmt: skip
    pnl = sum(float(r["pnl"]) for r in rows)
    assert pnl == pytest.approx(summary["final_equity"] - summary["starting_equity"], abs=0.02)
    with (out / "equity.csv").open() as fh:
        equity = list(csv.DictReader(fh))
    assert len(equity) >= 24 * 27 and float(equity[-1]["equity"]) == pytest.approx(
        summary["final_equity"], abs=0.01
    )
    assert png_size(out / "equity.png") == (1000, 420)
    html = (out / "report.html").read_text()
    self_contained(html)
    for needle in ("Equity", "drawdown", "Exposure per sector", "per exit reason",
                   "Monthly returns", "Trades (", "Configuration", "Honest caveat"):  # fmt: skip
        assert needle in html, needle
    # Interactive charts: every trade is marked on the equity curve, exposure per sector.
    figs = figures(html)
    names = [t.get("name", "") for f in figs for t in f["data"]]
    assert f"entry ({len(rows)})" in names and any(n.startswith("exit (") for n in names)
    exposure = next(f for f in figs if "Exposure" in f["layout"]["title"]["text"])
    assert {t["name"] for t in exposure["data"]} == {r["sector"] for r in rows}


def test_compare_and_report_on_the_real_data(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    res = rotor(
        "backtest", "--data", str(shared_data), "--from", "2025-08-01", "--to", "2025-10-01",
        "--compare", PRESETS, "--out", str(out), timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    for preset in PRESETS.split(","):
        assert preset in res.stdout
        assert (out / preset / "report.html").is_file()
        assert (out / preset / "summary.json").is_file()
    table = json.loads((out / "comparison.json").read_text())
    assert list(table) == PRESETS.split(",")
    assert all(v["start"] == "2025-08-01T00:00:00Z" for v in table.values())
    html = (out / "report.html").read_text()
    self_contained(html)
    curves = figures(html)[0]["data"]
    assert [t["name"] for t in curves if t.get("showlegend") is not False] == PRESETS.split(",")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "yesterday"], "--from: not an ISO-8601 time"),
        (["--compare", "rsi-reversion,momo"], "unknown preset(s) ['momo']"),
        (["--preset", "nope"], "strategy.preset"),
        (["--from", "2024-02-01", "--to", "2024-01-01"], "--to must be after --from"),
    ],
)
def test_bad_input_is_named(synth_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    res = rotor("backtest", "--data", str(synth_dir), "--out", str(tmp_path / "o"), *args)
    assert res.returncode == 2
    assert message in res.stderr


def test_missing_data_directory(tmp_path: Path) -> None:
    res = rotor("backtest", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o"))
    assert res.returncode == 2
    assert "data directory not found" in res.stderr


def test_without_the_report_extra_the_data_files_are_written_and_it_says_how(
    synth_dir: Path, tmp_path: Path
) -> None:
    block = tmp_path / "block"  # plotly and Pillow that cannot be imported
    for name in ("plotly", "PIL"):
        (block / name).mkdir(parents=True)
        (block / name / "__init__.py").write_text("raise ImportError('not installed')\n")
    out = tmp_path / "out"
    res = subprocess.run(
        [*ROTOR, "backtest", "--data", str(synth_dir), "--preset", "rsi-reversion",
         "--from", "2024-01-13", "--to", "2024-01-20", "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
        env={**os.environ, "PYTHONPATH": str(block)},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "pip install 'rotor-bot[report]'" in res.stdout
    assert (out / "summary.json").is_file() and (out / "trades.csv").is_file()
    assert not (out / "report.html").exists() and not (out / "equity.png").exists()
