"""A backtest imports what simulating needs: no database, exchange or optimiser stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
import bot.commands.backtest_cmd, bot.backtest.data, bot.backtest.result, bot.backtest.outputs
print(" ".join(sorted(m for m in sys.modules if "." not in m)))
"""

# Heavy packages a backtest never calls: the daemon's database, the venue clients, the
# optimiser; the report stack (plotly, matplotlib) is imported only when the files are drawn.
NOT_NEEDED = {"sqlalchemy", "alembic", "asyncpg", "aiosqlite", "ccxt", "optuna", "plotly",
              "matplotlib", "aiohttp"}  # fmt: skip


def test_backtest_modules_import_no_database_exchange_or_report_stack() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(proc.stdout.split())
    assert "numpy" in loaded  # the probe ran
    assert not loaded & NOT_NEEDED, sorted(loaded & NOT_NEEDED)


LOAD_PROBE = """
import sys
import numpy as np
from pathlib import Path
from bot.data.datadir import Ohlcv, read_ohlcv, write_ohlcv
path = Path(sys.argv[1])
ts = 1_704_067_200_000 + np.arange(48, dtype=np.int64) * 3_600_000
px = 100.0 + np.arange(48, dtype=np.float64)
write_ohlcv(path, Ohlcv(ts, px, px + 1, px - 1, px, np.ones(48)))
back = read_ohlcv(path)
assert back.ts.tolist() == ts.tolist() and back.close.tolist() == px.tolist()
print("pyarrow.dataset" in sys.modules)
"""


def test_reading_a_data_file_needs_no_dataset_layer(tmp_path: Path) -> None:
    """One parquet file is read as a file, not through pyarrow's dataset layer (which costs
    ~50 ms of imports and twice the CPU per file on a 150-file directory)."""
    proc = subprocess.run(
        [sys.executable, "-c", LOAD_PROBE, str(tmp_path / "X.parquet")],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert proc.stdout.split() == ["False"]


CHART_PROBE = """
import json, sys
import numpy as np
from bot.backtest import charts
fig = {"data": [{"type": "scatter", "x": ["a", "b", "c"], "y": np.array([1.0, np.nan, 2.5])}],
       "layout": charts._layout("t", 300)}
html = charts.div(fig)
js = charts.plotly_js()
args = html.split("Plotly.newPlot(", 1)[1]
dec = json.JSONDecoder()
_, i = dec.raw_decode(args)
data, k = dec.raw_decode(args[i + 1:])
layout, _ = dec.raw_decode(args[i + 1 + k + 1:])
print(json.dumps({"plotly": "plotly" in sys.modules, "y": data[0]["y"], "height": layout["height"],
                  "box": 'style="height:300px' in html, "js": len(js) > 1_000_000,
                  "template": layout["template"]["layout"]["plot_bgcolor"]}))
"""


def test_report_charts_read_plotly_as_data_without_importing_it() -> None:
    """A report page needs plotly.js and a template's JSON, not the plotly package's graph
    objects (importing them cost ~0.1 s CPU per report): the figures are drawn in the page."""
    proc = subprocess.run(
        [sys.executable, "-c", CHART_PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    got = json.loads(proc.stdout)
    assert got == {"plotly": False, "y": [1.0, None, 2.5], "height": 300, "box": True,
                   "js": True, "template": "white"}  # fmt: skip


PNG_PROBE = """
import sys
import numpy as np
from bot.backtest.charts import equity_png
ts = 1_704_067_200_000 + np.arange(2000, dtype=np.int64) * 3_600_000
equity = 10_000 + np.cumsum(np.sin(np.arange(2000) / 50.0))
peak = np.maximum.accumulate(equity)
equity_png(sys.argv[1], ts, equity, (peak - equity) / peak)
print("matplotlib" in sys.modules)
"""


def test_equity_png_is_drawn_without_matplotlib(tmp_path: Path) -> None:
    from PIL import Image

    from bot.backtest.charts import NEG, PALETTE

    png = tmp_path / "equity.png"
    proc = subprocess.run(
        [sys.executable, "-c", PNG_PROBE, str(png)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert proc.stdout.split() == ["False"]
    img = Image.open(png).convert("RGB")
    assert img.size == (1000, 420)
    colours = {c for _, c in img.getcolors(1_000_000) or []}

    def near(hexcolour: str) -> bool:
        rgb = tuple(int(hexcolour[i : i + 2], 16) for i in (1, 3, 5))
        return any(sum(abs(a - b) for a, b in zip(c, rgb, strict=True)) < 30 for c in colours)

    assert near(PALETTE[0])  # the equity line
    # The drawdown band: NEG at 35 % over white.
    band = "#" + "".join(f"{round(255 - 0.35 * (255 - v)):02x}" for v in
                         (int(NEG[i : i + 2], 16) for i in (1, 3, 5)))  # fmt: skip
    assert near(band)


COMMAND_PROBE = """
import atexit, sys
from pathlib import Path
from bot.data.synthetic import generate

data, out = Path(sys.argv[1]), Path(sys.argv[2])
generate(data, n_symbols=3, days=60, seed=3)
atexit.register(lambda: print(" ".join(sorted(m for m in sys.modules if "." not in m))))
sys.argv = ["rotor", "backtest", "--data", str(data), "--out", str(out),
            "--preset", "rsi-reversion"]
from bot.cli import main
main()
"""

# What the whole ``rotor backtest`` command (parse, load, run, every output file) must not
# load: rich and pygments (structlog's traceback formatter; rotor renders exceptions itself),
# prometheus_client (a backtest has no metrics endpoint) and the stacks above.
COMMAND_NOT_NEEDED = NOT_NEEDED | {"rich", "pygments", "prometheus_client"}


def test_the_backtest_command_loads_no_metrics_rich_or_daemon_stack(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", COMMAND_PROBE, str(tmp_path / "data"), str(tmp_path / "out")],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "summary.json").is_file()
    loaded = set(proc.stdout.splitlines()[-1].split())
    assert {"numpy", "pyarrow", "PIL"} <= loaded  # the probe ran the command to its end
    assert not loaded & COMMAND_NOT_NEEDED, sorted(loaded & COMMAND_NOT_NEEDED)
