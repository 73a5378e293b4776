"""The symbols the engine works on: rotation sectors, members, the benchmark."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.data.panel import Panel

BENCHMARK_TAG = "benchmark"
# Sector ids that never join a rotation sector (the sector map's special ids).
_NON_ROTATION = {BENCHMARK_TAG, "stablecoin"}


def _sector_order(ids: set[str]) -> list[str]:
    try:
        from bot.data.sectors import SECTOR_NAMES

        known = [s for s in SECTOR_NAMES if s in ids]
    except ImportError:  # pragma: no cover - the sector map module ships with the package
        known = []
    return known + sorted(ids - set(known))


@dataclass(frozen=True, slots=True)
class Universe:
    """Membership of every panel symbol: rotation sector, benchmark or excluded."""

    symbols: list[str]
    sector_of: list[str | None]  # rotation sector id, None for benchmark / excluded
    sectors: list[str]  # rotation sector ids in display order
    member: np.ndarray  # [K, S] bool
    benchmark: int  # panel row of the benchmark, -1 when absent

    @staticmethod
    def from_panel(panel: Panel, benchmark: str = "BTCUSDT") -> Universe:
        """Read sectors from the panel; the row tagged ``benchmark`` (else ``benchmark``) is BTC."""
        tags = list(panel.sectors)
        bench = next((i for i, t in enumerate(tags) if t == BENCHMARK_TAG), -1)
        if bench < 0:
            bench = panel.index.get(benchmark, -1)
        sector_of: list[str | None] = [
            None if (i == bench or t is None or t in _NON_ROTATION) else t
            for i, t in enumerate(tags)
        ]
        sectors = _sector_order({s for s in sector_of if s is not None})
        member = np.zeros((len(sectors), len(tags)), dtype=bool)
        pos = {s: k for k, s in enumerate(sectors)}
        for i, s in enumerate(sector_of):
            if s is not None:
                member[pos[s], i] = True
        return Universe(list(panel.symbols), sector_of, sectors, member, bench)

    @property
    def sector_rows(self) -> list[int]:
        """Per symbol, the row of its sector in the sector arrays (−1 when it has none)."""
        pos = {s: k for k, s in enumerate(self.sectors)}
        return [pos[s] if s is not None else -1 for s in self.sector_of]

    @property
    def n_sectors(self) -> int:
        return len(self.sectors)

    @property
    def alts(self) -> np.ndarray:
        """[S] bool: symbols in a rotation sector."""
        return np.asarray(self.member.any(axis=0))

    def sector_index(self, i: int) -> int:
        """Row of symbol ``i``'s sector in the sector arrays (−1 when it has none)."""
        s = self.sector_of[i]
        return self.sectors.index(s) if s is not None else -1
