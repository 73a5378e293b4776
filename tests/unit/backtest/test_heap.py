"""A backtest's freed numpy arrays leave the process (``bot.backtest.heap``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
import numpy as np
from bot.backtest.heap import return_large_blocks

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

if sys.argv[1] == "fixed":
    assert return_large_blocks()
n = 50 * 8_760  # one signal table of the benchmark: 3.5 MB of float64
a = np.ones(n)
del a  # glibc's default now raises its mmap threshold to 3.5 MB
bs = [np.ones(n) for _ in range(10)]
guard = bytearray(1_000_000)  # live, above them in the heap (under the raised threshold)
held = rss_mb()
del bs
print(round(held - rss_mb()))
"""


def _returned_mb(mode: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, timeout=60
    )
    return int(proc.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_large_array_is_returned_to_the_system() -> None:
    # glibc's default serves the next arrays from the heap once the first was freed: their
    # 35 MB stay resident after ``del``; with the fixed threshold they are unmapped at once.
    assert _returned_mb("default") < 5
    assert _returned_mb("fixed") >= 30
