"""plotly's assets for the report pages, read from the installed package, and a figure as an
HTML ``<div>`` that draws itself with them.

The report's figures are plain plotly specs (``{"data": [...], "layout": {...}}``); drawing one
in a page only takes plotly.js, the template's JSON and ``Plotly.newPlot``. The plotly Python
package is therefore read as data, never imported: importing it for ``plotly.io.to_html`` and
its templates loaded its graph objects, their validators and narwhals (~0.1 s CPU and ~20 MB per
report). Without plotly installed, ``ReportExtraMissing`` says how to get it.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

EXTRA_HINT = "pip install 'rotor-bot[report]'"


class ReportExtraMissing(RuntimeError):
    """plotly or Pillow is not installed; the message says how to get them."""


@cache
def package_data() -> Path:
    """plotly's ``package_data`` directory (plotly.min.js, templates/*.json)."""
    spec = importlib.util.find_spec("plotly")
    for where in (spec.submodule_search_locations or []) if spec is not None else []:
        data = Path(where) / "package_data"
        if (data / "plotly.min.js").is_file():
            return data
    raise ReportExtraMissing(f"report.html and equity.png need plotly and Pillow: {EXTRA_HINT}")


def plotly_js() -> str:
    """plotly.js itself, to inline in a ``<script>`` (no CDN: the page works offline)."""
    return (package_data() / "plotly.min.js").read_text(encoding="utf-8")


@cache
def _template_text(name: str) -> str:
    return (package_data() / "templates" / f"{name}.json").read_text(encoding="utf-8")


def template(name: str) -> dict[str, Any]:
    """A plotly template (``plotly_white``, ...) as its plain JSON spec (a fresh copy)."""
    spec: dict[str, Any] = json.loads(_template_text(name))
    return spec


_ATOMS = frozenset((str, int, bool, type(None)))


def _finite(v: float) -> float | None:
    return v if v - v == 0 else None  # NaN - NaN and inf - inf are NaN


def _plain(x: Any) -> Any:
    """``x`` with numpy arrays and scalars as Python values and NaN/±inf as null (JSON has
    neither; plotly reads null as a gap). Strings and numbers in lists are taken as they are
    (the traces' thousands of time labels)."""
    t = type(x)
    if t in _ATOMS:
        return x
    if t is float:
        return _finite(x)
    if t is list or t is tuple:
        return [v if type(v) in _ATOMS else _plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "f":
            values = x.tolist()
            return values if bool(np.isfinite(x).all()) else [_finite(v) for v in values]
        return _plain(x.tolist())
    if isinstance(x, np.generic):
        return _plain(x.item())
    if isinstance(x, float):  # a float subclass
        return _finite(float(x))
    return x


def to_json(x: Any) -> str:
    """Compact JSON for an inline ``<script>`` (``</`` escaped so no string can end it).

    orjson (installed with ccxt) writes the numbers ~5x faster than the standard library,
    which serves when it is missing; both give the same values."""
    try:
        import orjson
    except ImportError:
        text = json.dumps(_plain(x), separators=(",", ":"), allow_nan=False)
    else:
        text = orjson.dumps(_plain(x)).decode()
    return text.replace("</", "<\\/")


def div(fig: dict[str, Any], config: dict[str, Any]) -> str:
    """The figure as an HTML ``<div>`` and the script that draws it (plotly.js loaded once
    per page); the box is the layout's height tall, or fills its container."""
    package_data()  # the report extra is installed
    layout = fig.get("layout", {})
    height = layout.get("height")
    box = f"{height}px" if isinstance(height, int | float) else "100%"
    uid = str(uuid.uuid4())
    return (
        f'<div style="height:{box}; width:100%;">'
        f'<div id="{uid}" class="plotly-graph-div" style="height:100%; width:100%;"></div>'
        f'<script type="text/javascript">window.PLOTLYENV=window.PLOTLYENV || {{}};'
        f'if (document.getElementById("{uid}")) {{Plotly.newPlot("{uid}",'
        f"{to_json(fig.get('data', []))},{to_json(layout)},{to_json(config)})}};</script></div>"
    )
