"""A tiny PNG writer and line-chart rasteriser (numpy + zlib, no plotting library).

``equity.png`` only needs a line, a filled drawdown band and a few grid lines, so the image
is drawn straight into an RGB array and encoded as an 8-bit truecolour PNG (RFC 2083:
signature, IHDR, one zlib-compressed IDAT of filter-0 scanlines, IEND, each chunk with a
CRC-32).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

Color = tuple[int, int, int]

BG: Color = (255, 255, 255)
GRID: Color = (226, 230, 236)
AXIS: Color = (120, 128, 140)
LINE: Color = (31, 95, 191)
DD: Color = (222, 90, 90)

# 3x5 bitmap digits (and a few signs) for axis labels, one row per string of 3 bits.
_GLYPHS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    "-": ("000", "000", "111", "000", "000"),
    ".": ("000", "000", "000", "000", "010"),
    "%": ("101", "001", "010", "100", "101"),
    "k": ("100", "101", "110", "101", "101"),
    " ": ("000", "000", "000", "000", "000"),
}


def encode_png(rgb: np.ndarray) -> bytes:
    """Encode an ``[H, W, 3]`` uint8 array as PNG bytes."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("encode_png needs an [H, W, 3] uint8 array")
    h, w, _ = rgb.shape
    raw = np.zeros((h, 1 + 3 * w), dtype=np.uint8)  # filter type 0 (None) per scanline
    raw[:, 1:] = rgb.reshape(h, 3 * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit, truecolour, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


class Canvas:
    """An RGB raster with the few primitives a line chart needs."""

    def __init__(self, width: int, height: int, bg: Color = BG) -> None:
        self.w, self.h = width, height
        self.px = np.empty((height, width, 3), dtype=np.uint8)
        self.px[:, :] = bg

    def hline(self, y: int, x0: int, x1: int, color: Color) -> None:
        if 0 <= y < self.h:
            self.px[y, max(0, x0) : min(self.w, x1 + 1)] = color

    def vline(self, x: int, y0: int, y1: int, color: Color) -> None:
        if 0 <= x < self.w:
            lo, hi = sorted((y0, y1))
            self.px[max(0, lo) : min(self.h, hi + 1), x] = color

    def polyline(self, xs: np.ndarray, ys: np.ndarray, color: Color, width: int = 2) -> None:
        """Draw the series column by column: each pixel column spans the min..max of its
        points and joins the previous column, so no spike is lost when points outnumber
        pixels."""
        cols = np.round(xs).astype(int)
        prev: int | None = None
        for x in range(int(cols.min()), int(cols.max()) + 1):
            sel = ys[cols == x]
            if sel.size == 0:
                y = round(float(np.interp(x, xs, ys)))
                lo = hi = y
            else:
                lo, hi = round(float(sel.min())), round(float(sel.max()))
            if prev is not None:
                lo, hi = min(lo, prev), max(hi, prev)
            for d in range(width):
                self.vline(x + d, lo, hi, color)
            prev = round(float(sel[-1])) if sel.size else lo

    def fill_down(self, xs: np.ndarray, ys: np.ndarray, y_base: int, color: Color) -> None:
        """Fill between the curve and ``y_base`` (for the drawdown band)."""
        for x in range(int(xs[0]), int(xs[-1]) + 1):
            self.vline(x, y_base, round(float(np.interp(x, xs, ys))), color)

    def text(self, x: int, y: int, s: str, color: Color, scale: int = 2) -> None:
        """Bitmap text (digits, ``-.%k`` and space) with its top-left corner at (x, y)."""
        for ch in s:
            glyph = _GLYPHS.get(ch, _GLYPHS[" "])
            for r, row in enumerate(glyph):
                for c, bit in enumerate(row):
                    if bit == "1":
                        y0, x0 = y + r * scale, x + c * scale
                        self.px[
                            max(0, y0) : max(0, min(self.h, y0 + scale)),
                            max(0, x0) : max(0, min(self.w, x0 + scale)),
                        ] = color
            x += 4 * scale


def _label(v: float) -> str:
    return f"{v / 1000:.1f}k" if abs(v) >= 10_000 else f"{v:.0f}"


def equity_png(
    path: Path, equity: np.ndarray, drawdown: np.ndarray, width: int = 1000, height: int = 420
) -> None:
    """Write the equity curve (top) and its drawdown band (bottom) as a PNG."""
    c = Canvas(width, height)
    left, right, top = 70, width - 15, 15
    split = int(height * 0.72)
    bottom = height - 20
    n = len(equity)
    if n == 0:
        path.write_bytes(encode_png(c.px))
        return
    xs = left + (right - left) * np.arange(n) / max(1, n - 1)
    lo, hi = float(np.min(equity)), float(np.max(equity))
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    ys = top + (split - 10 - top) * (hi - equity) / (hi - lo)
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        y = round(top + (split - 10 - top) * (hi - v) / (hi - lo))
        c.hline(y, left, right, GRID)
        c.text(4, y - 5, _label(v), AXIS)
    c.vline(left, top, split - 10, AXIS)
    c.polyline(xs, ys, LINE)
    dd_max = max(float(np.max(drawdown)), 1e-9)
    dys = split + (bottom - split) * drawdown / dd_max
    c.hline(split, left, right, AXIS)
    c.fill_down(xs, dys, split, DD)
    c.text(4, bottom - 8, f"-{dd_max * 100:.1f}%", AXIS)
    path.write_bytes(encode_png(c.px))
