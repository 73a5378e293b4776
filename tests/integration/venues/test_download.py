"""``rotor data download`` against ``rotor sim serve``'s HTTP face, through real ccxt."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.data.datadir import read_funding, read_ohlcv, read_open_interest, write_ohlcv
from tests.integration.venues.conftest import DAY, HOUR, START, SYMBOLS
from tests.simserver import SimHandle, sim_server

runner = CliRunner()


async def cli(*args: str) -> tuple[int, str]:
    # The sim runs in this event loop; the CLI runs its own loop in a worker thread.
    res = await asyncio.to_thread(runner.invoke, app, list(args))
    return res.exit_code, res.output


def assert_matches_source(out: Path, src: Path, start: int, end: int) -> None:
    for sym in SYMBOLS:
        got, want = (
            read_ohlcv(out / "ohlcv" / f"{sym}.parquet"),
            read_ohlcv(src / "ohlcv" / f"{sym}.parquet"),
        )
        m = (want.ts >= start) & (want.ts < end)
        assert len(got) == 30 * 24
        np.testing.assert_array_equal(got.ts, want.ts[m])
        for col in ("open", "high", "low", "close", "volume"):
            np.testing.assert_array_equal(
                getattr(got, col), getattr(want, col)[m], err_msg=f"{sym} {col}"
            )
        fg, fw = (
            read_funding(out / "funding" / f"{sym}.parquet"),
            read_funding(src / "funding" / f"{sym}.parquet"),
        )
        fm = (fw.ts >= start) & (fw.ts < end)
        assert len(fg) == 90
        np.testing.assert_array_equal(fg.ts, fw.ts[fm])
        np.testing.assert_array_equal(fg.rate, fw.rate[fm])
        og = read_open_interest(out / "open_interest" / f"{sym}.parquet")
        ow = read_open_interest(src / "open_interest" / f"{sym}.parquet")
        om = (ow.ts >= start) & (ow.ts < end)
        np.testing.assert_array_equal(og.ts, ow.ts[om])
        np.testing.assert_allclose(og.oi, ow.oi[om], rtol=1e-12)


@pytest.fixture
async def face_sim(data_dir: Path, venue_name: str) -> AsyncIterator[SimHandle]:
    """The simulator serving ``venue_name``'s face (both venues, issue #16)."""
    async with sim_server(data_dir, start_ms=START, venue=venue_name) as handle:
        yield handle


async def test_download_30_days_equals_source_and_is_idempotent(
    face_sim: SimHandle, data_dir: Path, tmp_path: Path
) -> None:
    sim = face_sim
    out = tmp_path / "dl"
    args = [
        "data",
        "download",
        "--exchange",
        sim.venue,
        "--api-url",
        sim.url,
        "--symbols",
        ",".join(SYMBOLS),
        "--days",
        "30",
        "--out",
        str(out),
        "--rate-limit-ms",
        "1",
    ]
    code, text = await cli(*args)
    assert code == 0, text
    end, start = START, START - 30 * DAY  # the sim's clock sits on a bar boundary
    assert_matches_source(out, data_dir, start, end)

    code, text = await cli("data", "check", str(out))
    assert code == 0, text

    # Re-running a complete download writes nothing.
    files = [*sorted(out.rglob("*.parquet")), out / "instruments.json"]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files}
    code, text = await cli(*args)
    assert code == 0, text
    assert "added nothing" in text or "added 0" in text
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in files} == before

    # A truncated download is named as corrupt by `data check`, and download refuses to
    # silently overwrite it.
    bad = out / "funding" / "ETHUSDT.parquet"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    code, text = await cli("data", "check", str(out))
    assert code == 2 and "ETHUSDT.parquet" in text
    code, text = await cli(*args)
    assert code == 1 and "ETHUSDT" in text and "delete it" in text


async def test_download_resumes_from_what_is_on_disk(
    sim: SimHandle, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dl"
    args = [
        "data",
        "download",
        "--api-url",
        sim.url,
        "--symbols",
        ",".join(SYMBOLS),
        "--days",
        "30",
        "--out",
        str(out),
        "--rate-limit-ms",
        "1",
        "--json",
    ]
    assert (await cli(*args))[0] == 0
    # Cut one file to its first 100 rows and another to its last 50: both are completed.
    p1, p2 = out / "ohlcv" / "BTCUSDT.parquet", out / "ohlcv" / "SOLUSDT.parquet"
    a, b = read_ohlcv(p1), read_ohlcv(p2)
    write_ohlcv(
        p1,
        type(a)(*(getattr(a, f)[:100] for f in ("ts", "open", "high", "low", "close", "volume"))),
    )
    write_ohlcv(
        p2,
        type(b)(*(getattr(b, f)[-50:] for f in ("ts", "open", "high", "low", "close", "volume"))),
    )
    await sim.admin("POST", "/sim/requests/reset")
    code, text = await cli(*args)
    assert code == 0, text
    assert '"ohlcv": 1290' in text  # 620 + 670 bars re-fetched, nothing else
    assert_matches_source(out, data_dir, START - 30 * DAY, START)
    kline_requests = (await sim.requests())["endpoints"]["/v5/market/kline"]
    assert kline_requests == 2  # one page per missing range: resumed, not restarted


async def test_download_rejects_unknown_symbol_and_bad_arguments(
    sim: SimHandle, tmp_path: Path
) -> None:
    code, text = await cli(
        "data", "download", "--api-url", sim.url, "--symbols", "NOPEUSDT", "--out", str(tmp_path)
    )
    assert code == 2 and "NOPEUSDT" in text
    code, text = await cli("data", "download", "--api-url", sim.url, "--out", str(tmp_path))
    assert code == 2 and "--symbols" in text
    code, text = await cli(
        "data", "download", "--api-url", "ftp://x", "--all", "--out", str(tmp_path)
    )
    assert code == 2 and "api_url" in text
    assert HOUR  # keep the import honest


async def test_cli_download_from_a_rotor_sim_serve_process(data_dir: Path, tmp_path: Path) -> None:
    """The user's path end to end: `rotor sim serve` and `rotor data download` processes."""
    from datetime import UTC, datetime

    from tests.simserver import sim_subprocess

    start = datetime.fromtimestamp(START / 1000, tz=UTC).isoformat()
    args = ["--data", str(data_dir), "--speed", "0", "--start", start]
    async with sim_subprocess(args) as sim:
        out = tmp_path / "dl"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "data", "download", "--api-url", sim.url,
            "--all", "--days", "30", "--out", str(out), "--rate-limit-ms", "1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        text = (await asyncio.wait_for(proc.communicate(), 120))[0].decode()
        assert proc.returncode == 0, text
        counts = (await sim.requests())["endpoints"]
    assert_matches_source(out, data_dir, START - 30 * DAY, START)
    assert counts["/v5/market/kline"] == len(SYMBOLS)  # 720 bars: one page per symbol
