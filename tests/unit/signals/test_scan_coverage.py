"""``rotor scan`` on an uneven universe: every layer says which inputs it had (issue #18).

Sectors of different sizes, a member that delisted, funding for a few members only and open
interest for one: the sector rows count them, the text table shows them as ``n/of``, and a
missing benchmark bar makes the regime visibly unknown instead of quietly risk-off.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bot.data.build import load_panel
from bot.data.synthetic import generate
from bot.signals.engine import SignalEngine
from bot.signals.params import resolve
from bot.signals.scan import as_of_index, scan_panel, scan_report
from tests.conftest import ROOT

START = 1_704_067_200_000  # 2024-01-01
HOUR = 3_600_000
AT = "2024-03-20T00:00:00Z"
AT_MS = START + (79 * 24) * HOUR


def _cut(path: Path, end_ms: int) -> None:
    t = pq.read_table(path)
    pq.write_table(t.filter(pq.read_table(path).column("timestamp").to_numpy() < end_ms), path)


@pytest.fixture(scope="module")
def uneven(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]]]:
    root = tmp_path_factory.mktemp("uneven") / "data"
    generate(root, 16, 80, 5, n_sectors=2, start_ms=START)
    lines = (root / "sectors.csv").read_text().splitlines()[1:]
    members: dict[str, list[str]] = {}
    for line in lines:
        sym, sec = line.split(",")
        if sym != "BTCUSDT":
            members.setdefault(sec, []).append(sym)
    big, small = sorted(members, key=lambda k: -len(members[k]))
    keep_oi = members[big][0]
    for p in (root / "open_interest").glob("*.parquet"):
        if p.stem != keep_oi:
            p.unlink()  # open interest for one member only
    for sym in members[small][1:]:
        (root / "funding" / f"{sym}.parquet").unlink()  # funding for one small-sector member
    _cut(root / "ohlcv" / f"{members[big][-1]}.parquet", AT_MS - 48 * HOUR)  # delisted
    return root, {
        "big": members[big],
        "small": members[small],
        "big_id": [big],
        "small_id": [small],
    }


def _report(root: Path) -> dict:
    engine = SignalEngine(resolve())
    panel = load_panel(root, end_ms=AT_MS - HOUR + 1)
    return scan_report(scan_panel(engine, panel, as_of_index(panel, AT_MS)))


def test_sector_rows_count_the_inputs_each_layer_had(uneven: tuple[Path, dict]) -> None:
    root, m = uneven
    rep = _report(root)
    rows = {s["sector"]: s for s in rep["sectors"]}
    from bot.data.sectors import normalise_sector

    big = rows[normalise_sector(m["big_id"][0])]
    small = rows[normalise_sector(m["small_id"][0])]
    assert big["members"] == len(m["big"])
    assert big["listed_members"] == len(m["big"]) - 1  # the delisted one has no bar now
    assert big["eligible_members"] == len(m["big"]) - 1
    assert big["oi_members"] == 1 and not big["oi_missing"]
    assert small["oi_members"] == 0 and small["oi_missing"]
    assert big["funding_members"] == len(m["big"]) - 1
    assert small["funding_members"] == 1
    inp = rep["inputs"]
    assert inp["with_oi"] == 1 and inp["listed"] == inp["members"] - 1
    assert rep["regime"]["known"] and rep["regime"]["alts"] == inp["listed"]


def test_scan_table_shows_coverage_and_an_unknown_regime(
    uneven: tuple[Path, dict], tmp_path: Path
) -> None:
    root, m = uneven
    res = subprocess.run(
        [sys.executable, "-m", "bot.cli", "scan", "--data", str(root), "--at", AT],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert f"1/{len(m['big']) - 1}" in res.stdout  # OI: 1 of the eligible members
    assert f"1/{len(m['small'])}" in res.stdout  # funding: 1 of the listed members
    assert "open interest for 1 of the eligible" in res.stdout
    # Without a benchmark bar the regime cannot be computed: said, not silently risk-off.
    _cut(root / "ohlcv" / "BTCUSDT.parquet", AT_MS - 48 * HOUR)
    doc = _report(root)
    assert doc["regime"]["known"] is False and doc["regime"]["risk_on"] is False
    res = subprocess.run(
        [sys.executable, "-m", "bot.cli", "scan", "--data", str(root), "--at", AT, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert json.loads(res.stdout)["regime"]["known"] is False
