"""The C heap of a backtest: large blocks go back to the operating system when freed.

glibc's malloc serves a block of 128 KiB or more with its own ``mmap`` (returned on ``free``),
but every time such a block is freed it raises that threshold to the block's size (up to
32 MiB). After the first freed numpy array of a few MB, every later array of that size comes
from the heap instead, and a freed one stays resident: the signal precompute's temporaries
(50 × 8,760 float64 = 3.5 MB each) then sit in the process for the rest of the run, under the
run's own records, and the peak RSS is theirs. A fixed threshold keeps the dynamic rule off:
what numpy frees is unmapped at once, and the peak is the memory the run really holds.

Measured on ``bench/bench_backtest.py``'s workload: peak RSS 233 → 216 MB, CPU time within
the noise (docs/backtest.md). Only glibc has ``mallopt``; elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>
LARGE = 128 * 1024  # glibc's default threshold, kept fixed


def return_large_blocks(threshold: int = LARGE) -> bool:
    """Serve blocks of ``threshold`` bytes or more by ``mmap`` for the rest of the process;
    True when the C library took the setting."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
