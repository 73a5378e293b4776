"""Sector map: default file, validation errors naming file and line, resolution, renames."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.data.datadir import read_sectors_csv
from bot.data.sectors import (
    BENCHMARK,
    SECTOR_NAMES,
    STABLECOIN,
    SectorMapError,
    load_sector_map,
    normalise_sector,
    parse_sector_map,
    sector_map_from_mapping,
)


def test_default_map_has_version_all_sectors_and_benchmark() -> None:
    m = load_sector_map()
    assert m.version == "2026.12.1"
    assert m.rotation_sectors() == list(SECTOR_NAMES)
    assert m.sector_of("BTCUSDT") == BENCHMARK
    assert m.sector_of("USDCUSDT") == STABLECOIN
    assert m.sector_of("BTC/USDT:USDT") == BENCHMARK  # ccxt unified symbols are accepted


def test_default_map_agrees_with_shared_sectors_csv(shared_data: Path) -> None:
    m = load_sector_map()
    shared = read_sectors_csv(shared_data / "sectors.csv")
    for sym, name in shared.items():
        expected = normalise_sector(name)
        assert expected is not None, name
        if sym == "BTCUSDT":
            assert m.sector_of(sym) == BENCHMARK  # the benchmark is in no rotation sector
        else:
            assert m.sector_of(sym) == expected, sym


def test_default_map_covers_every_symbol_of_the_wide_data() -> None:
    # The wide data set's sectors.csv and its OHLCV file names, vendored (tests/data/SLICE.md).
    wide = Path(__file__).resolve().parents[2] / "data" / "binance-usdm-1h-wide"
    m = load_sector_map()
    listed = read_sectors_csv(wide / "sectors.csv")
    files = (wide / "ohlcv-symbols.txt").read_text(encoding="utf-8").split()
    assert len(files) == 453
    for sym in [*listed, *files]:
        assert m.canonical(sym) is not None, sym
    res = m.resolve(files, log=False)
    assert res.unknown == [] and res.benchmark == "BTCUSDT"
    # Sector sizes as uneven as the data: 6 to 82 tradable members.
    sizes = {k: len(v) for k, v in res.members().items()}
    assert len(sizes) == 12 and max(sizes.values()) >= 80 and min(sizes.values()) <= 3


def test_multiplier_contracts_and_renames_resolve_through_aliases() -> None:
    m = load_sector_map()
    assert m.canonical("PEPEUSDT") == "1000PEPEUSDT" and m.sector_of("PEPEUSDT") == "meme"
    assert m.canonical("SHIB1000USDT") == "1000SHIBUSDT"
    assert m.canonical("BONKUSDT") == "1000BONKUSDT"
    assert m.canonical("EOSUSDT") == "AUSDT" and m.sector_of("AUSDT") == "l1"
    r = m.resolve(["BTCUSDT", "PEPEUSDT", "EOSUSDT"], log=False)
    assert r.renamed == {"PEPEUSDT": "1000PEPEUSDT", "EOSUSDT": "AUSDT"}
    assert len(m) >= 460


def test_resolution_reports_unknown_missing_renames_and_logs_once() -> None:
    m = parse_sector_map(
        "# version: t1\nsymbol,sector,aliases\nBTCUSDT,benchmark,\nPOLUSDT,l2,MATICUSDT\n"
        "RENDERUSDT,ai,RNDRUSDT\nETHUSDT,l1,\nUSDCUSDT,stablecoin,\nARBUSDT,l2,\n",
        "t.csv",
    )
    venue = ["BTCUSDT", "MATICUSDT", "RENDERUSDT", "RNDRUSDT", "ETHUSDT", "USDCUSDT", "XYZUSDT"]
    with capture_logs() as logs:
        r = m.resolve(venue)
        m.resolve(venue)  # same exclusions again: not logged twice
    assert r.benchmark == "BTCUSDT"
    assert r.sectors == {"MATICUSDT": "l2", "RENDERUSDT": "ai", "ETHUSDT": "l1"}
    assert r.renamed == {"MATICUSDT": "POLUSDT"}
    assert r.superseded == ["RNDRUSDT"]  # old name listed beside the new one
    assert r.stablecoins == ["USDCUSDT"]
    assert r.unknown == ["XYZUSDT"]
    assert r.missing == ["ARBUSDT"]
    assert r.sector_of("BTCUSDT") == BENCHMARK and r.sector_of("USDCUSDT") is None
    assert r.universe == ["BTCUSDT", "ETHUSDT", "MATICUSDT", "RENDERUSDT"]
    unmapped = [e for e in logs if e.get("reason") == "unmapped"]
    assert len(unmapped) == 1 and unmapped[0]["symbols"] == ["XYZUSDT"]
    assert len([e for e in logs if e["event"] == "sector_map_renamed_symbols"]) == 1


def test_shared_sectors_csv_as_a_map_keeps_btc_the_benchmark(shared_data: Path) -> None:
    m = sector_map_from_mapping(read_sectors_csv(shared_data / "sectors.csv"))
    assert m.sector_of("BTCUSDT") == BENCHMARK  # listed as Currency/PoW there
    assert m.sector_of("LTCUSDT") == "pow" and m.sector_of("USDCUSDT") == STABLECOIN
    assert m.resolve(["BTCUSDT", "LTCUSDT"], log=False).benchmark == "BTCUSDT"


def test_normalises_display_names() -> None:
    m = sector_map_from_mapping({"LTCUSDT": "Currency/PoW", "LINKUSDT": "Infra/Oracle"})
    assert m.sector_of("LTCUSDT") == "pow" and m.sector_of("LINKUSDT") == "infra"
    assert m.version.startswith("sha256:")  # no directive: a content hash


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("sym,sec\nBTCUSDT,benchmark\n", 1, "bad header"),
        ("symbol,sector\nBTCUSDT,benchmark\nETHUSDT,defy\n", 3, "unknown sector 'defy'"),
        ("symbol,sector\nETHUSDT,l1\n\nETHUSDT,l2\n", 4, "already mapped on line 2"),
        ("symbol,sector\nETH-PERP,l1\n", 2, "bad symbol"),
        ("symbol,sector\nETHUSDT,\n", 2, "unknown sector"),
        ("symbol,sector,aliases\nPOLUSDT,l2,MATICUSDT\nMATICUSDT,l2,\n", 3, "already mapped"),
        ("symbol,sector\nBTCUSDT,benchmark\nETHUSDT,benchmark\n", 3, "more than one benchmark"),
        ("symbol,sector\nETHUSDT,l1,extra\n", 2, "expected 2 columns"),
    ],
)
def test_validation_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    p = tmp_path / "my_sectors.csv"
    p.write_text(text)
    with pytest.raises(SectorMapError) as ei:
        load_sector_map(p)
    msg = str(ei.value)
    assert msg.startswith(f"{p}:{line}: "), msg
    assert fragment in msg


def test_missing_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(SectorMapError, match="cannot read"):
        load_sector_map(tmp_path / "nope.csv")
    p = tmp_path / "empty.csv"
    p.write_text("# only a comment\n")
    with pytest.raises(SectorMapError, match="empty file"):
        load_sector_map(p)


def test_override_file_round_trips(tmp_path: Path) -> None:
    m = load_sector_map()
    p = tmp_path / "copy.csv"
    p.write_text(m.to_csv())
    m2 = load_sector_map(p)
    assert m2.version == m.version and m2.as_dict() == m.as_dict()
    assert m2.canonical("MATICUSDT") == "POLUSDT"
