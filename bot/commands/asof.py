"""Reading market data "as of" a time for the offline commands (``scan``, ``allocate``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.commands.common import fail

if TYPE_CHECKING:
    from bot.data.panel import Panel

HOUR_MS = 3_600_000

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", help="Data directory (default: the bundled sample).", show_default=False
    ),
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="ISO-8601 time; only data available then is used (default: latest)."),
]


def parse_at(text: str) -> int:
    """``--at`` as UTC ms; exits 2 on a malformed or naive time."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--at: not an ISO-8601 time: {text!r} (e.g. 2025-06-01T12:00:00Z)", 2)
    if dt.tzinfo is None:
        fail(f"--at: {text!r} has no timezone; add Z or an offset such as +00:00", 2)
    return int(dt.timestamp() * 1000)


def default_data() -> Path:
    """The bundled sample data directory."""
    try:
        from bot.data.sample import sample_dir

        return sample_dir()
    except Exception as exc:  # the sample may be missing from a stripped install
        fail(f"no --data given and the bundled sample is unavailable ({exc})")


def panel_as_of(root: Path | None, at_ms: int | None, window_hours: int) -> tuple[Panel, int]:
    """The panel of ``root`` (default: the sample) holding only bars closed by ``at_ms``
    (all when None) and at most ``window_hours`` (+2 days) behind, and the last bar's index.
    A data problem exits 1 naming the file."""
    from bot.data.build import load_panel
    from bot.data.datadir import DataDir, DataFileError
    from bot.signals.scan import as_of_index, iso

    root = root if root is not None else default_data()
    try:
        dd = DataDir(root)  # every file's schema and the span, from the footers
        # Bars must have closed by --at: anything opening after at - 1h is never read. Only
        # the window the engine reads is placed on the grid (a wide directory's whole
        # history is GBs).
        last_close = at_ms if at_ms is not None else (dd.meta.grid_end_ms or 0) + HOUR_MS
        start_ms = last_close - (window_hours + 48) * HOUR_MS
        panel = load_panel(
            dd, start_ms=start_ms, end_ms=None if at_ms is None else at_ms - HOUR_MS + 1
        )
        if panel.n_bars == 0 and at_ms is not None:
            raise ValueError(f"{root}: no bar has closed by {iso(at_ms)}")
        j = as_of_index(panel, at_ms)
    except (DataFileError, ValueError) as exc:
        fail(str(exc))
    last_close = panel.close_time(j)
    if at_ms is not None and at_ms - last_close >= HOUR_MS:
        typer.echo(
            f"note: the data ends before --at; using the last close {iso(last_close)}", err=True
        )
    return panel, j
