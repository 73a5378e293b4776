"""The versioned sector map (STRATEGY.md, "Universe and data").

The default map ships as ``bot/data/sector_map.csv``; ``universe.sector_map`` replaces it
wholesale with a file of the same format::

    # version: 2026.11.1          (optional directive; otherwise a content hash is used)
    symbol,sector,aliases
    POLUSDT,l2,MATICUSDT
    BTCUSDT,benchmark,

Sector ids are stable lower-case slugs; display names and the spellings used by the shared
data's ``sectors.csv`` ("Currency/PoW", "Infra/Oracle", …) are accepted and normalised.
BTC is the ``benchmark`` (in no rotation sector, even if a file lists it in one); ``stablecoin``
entries are always excluded.
``aliases`` hold former or venue-specific names (MATIC→POL, RNDR→RENDER, SHIB1000 on Bybit),
resolved against the venue's markets by :meth:`SectorMap.resolve`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from bot.observability.logging import get_logger

BENCHMARK = "benchmark"
STABLECOIN = "stablecoin"
BENCHMARK_SYMBOL = "BTCUSDT"

#: Rotation sectors (STRATEGY.md) with their display names, in the spec's order.
SECTOR_NAMES: dict[str, str] = {
    "payments": "Payments",
    "l1": "L1",
    "l2": "L2",
    "defi": "DeFi",
    "ai": "AI",
    "infra": "Infra/Oracle",
    "gaming": "Gaming",
    "meme": "Meme",
    "rwa": "RWA",
    "privacy": "Privacy",
    "exchange": "Exchange",
    "pow": "Currency/PoW",
}
SPECIAL_NAMES: dict[str, str] = {BENCHMARK: "Benchmark", STABLECOIN: "Stablecoin"}
ALL_SECTORS: dict[str, str] = {**SECTOR_NAMES, **SPECIAL_NAMES}

# Spellings seen in the wild (shared sectors.csv, STRATEGY.md prose) -> stable id.
_SECTOR_ALIASES: dict[str, str] = {
    "currency/pow": "pow",
    "currency": "pow",
    "infra/oracle": "infra",
    "infra/oracles": "infra",
    "oracle": "infra",
    "oracles": "infra",
    "layer1": "l1",
    "layer 1": "l1",
    "layer2": "l2",
    "layer 2": "l2",
    "stablecoins": STABLECOIN,
    "stable": STABLECOIN,
    "btc": BENCHMARK,
}
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{1,40}USDT$")
_VERSION_RE = re.compile(r"^#\s*version\s*:\s*(\S+)\s*$", re.IGNORECASE)
DEFAULT_RESOURCE = "sector_map.csv"

_log = get_logger(__name__)
_logged_once: set[tuple[str, str, tuple[str, ...]]] = set()


class SectorMapError(ValueError):
    """A sector map file is invalid; the message names the file and line."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.line = line
        self.problem = problem


def normalise_sector(name: str) -> str | None:
    """The stable id for a sector spelling (``"Currency/PoW"`` → ``"pow"``), None if unknown."""
    key = name.strip().lower()
    if key in ALL_SECTORS:
        return key
    if key in _SECTOR_ALIASES:
        return _SECTOR_ALIASES[key]
    for sid, display in ALL_SECTORS.items():
        if display.lower() == key:
            return sid
    return None


def normalise_symbol(raw: str) -> str:
    """Exchange id for a symbol: upper-case, and ``BTC/USDT:USDT`` → ``BTCUSDT``."""
    s = raw.strip().upper()
    if "/" in s:
        base, _, rest = s.partition("/")
        quote = rest.split(":", 1)[0]
        s = base + quote
    return s


@dataclass(frozen=True, slots=True)
class SectorEntry:
    """One row of the map."""

    symbol: str
    sector: str
    aliases: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class SectorResolution:
    """The map applied to a concrete symbol list (the venue's markets or a data directory)."""

    sectors: dict[str, str]  # symbol (as the venue names it) -> rotation sector id
    benchmark: str | None  # the venue's BTC symbol, if present
    stablecoins: list[str]  # present but excluded
    unknown: list[str]  # present but unmapped -> excluded
    missing: list[str]  # mapped (canonical name) but absent
    renamed: dict[str, str]  # venue symbol -> map symbol, where resolved through an alias
    superseded: list[str] = field(default_factory=list)  # old name present beside the new one

    def sector_of(self, symbol: str) -> str | None:
        """Rotation sector id, ``"benchmark"`` for the benchmark, None when excluded."""
        if symbol == self.benchmark:
            return BENCHMARK
        return self.sectors.get(symbol)

    @property
    def universe(self) -> list[str]:
        """Tradable symbols: the benchmark (if present) and every rotation member, sorted."""
        syms = set(self.sectors)
        if self.benchmark:
            syms.add(self.benchmark)
        return sorted(syms)

    def members(self) -> dict[str, list[str]]:
        """Rotation sector id → sorted member symbols."""
        out: dict[str, list[str]] = {}
        for sym, sec in sorted(self.sectors.items()):
            out.setdefault(sec, []).append(sym)
        return out


@dataclass(frozen=True, slots=True)
class SectorMap:
    """Symbol → sector, with aliases for renamed instruments and a version string."""

    version: str
    source: str
    entries: dict[str, SectorEntry]
    _alias_to_symbol: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._alias_to_symbol.clear()
        for e in self.entries.values():
            for a in e.aliases:
                self._alias_to_symbol[a] = e.symbol

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, symbol: object) -> bool:
        return isinstance(symbol, str) and self.canonical(symbol) is not None

    def canonical(self, symbol: str) -> str | None:
        """The map's name for ``symbol`` (itself, or the entry it is an alias of)."""
        s = normalise_symbol(symbol)
        if s in self.entries:
            return s
        return self._alias_to_symbol.get(s)

    def sector_of(self, symbol: str) -> str | None:
        """Sector id (incl. ``benchmark``/``stablecoin``) of a symbol or alias; None if unmapped."""
        c = self.canonical(symbol)
        return self.entries[c].sector if c is not None else None

    def display_name(self, sector: str) -> str:
        """Human-readable sector name."""
        return ALL_SECTORS.get(sector, sector)

    def rotation_sectors(self) -> list[str]:
        """Rotation sector ids present in the map, in the spec's order."""
        present = {e.sector for e in self.entries.values()}
        return [s for s in SECTOR_NAMES if s in present]

    def as_dict(self) -> dict[str, str]:
        """{symbol: sector id} for every entry (including benchmark and stablecoins)."""
        return {s: e.sector for s, e in self.entries.items()}

    def resolve(self, symbols: Iterable[str], *, log: bool = True) -> SectorResolution:
        """Apply the map to the symbols a venue (or data directory) actually has.

        An entry matches its own name if present or, failing that, the first present alias
        (a rename). Stablecoins and unmapped symbols are excluded; mapped symbols with
        no present name are ``missing``. Each distinct exclusion list is logged once.
        """
        present = {normalise_symbol(s) for s in symbols}
        sectors: dict[str, str] = {}
        renamed: dict[str, str] = {}
        stable: list[str] = []
        missing: list[str] = []
        benchmark: str | None = None
        used: set[str] = set()
        for e in self.entries.values():
            name = e.symbol if e.symbol in present else None
            if name is None:
                name = next((a for a in e.aliases if a in present), None)
            if name is None:
                missing.append(e.symbol)
                continue
            used.add(name)
            if name != e.symbol:
                renamed[name] = e.symbol
            if e.sector == BENCHMARK:
                benchmark = name
            elif e.sector == STABLECOIN:
                stable.append(name)
            else:
                sectors[name] = e.sector
        unknown: list[str] = []
        superseded: list[str] = []
        for sym in sorted(present - used):
            # An old name listed next to the new one is dropped in favour of the map's name.
            (superseded if self.canonical(sym) is not None else unknown).append(sym)
        res = SectorResolution(
            sectors, benchmark, sorted(stable), unknown, sorted(missing), renamed, superseded
        )
        if log:
            self._log_once("stablecoin", stable)
            self._log_once("unmapped", unknown)
            self._log_once("superseded", superseded)
            self._log_once("missing", missing)
            self._log_once("renamed", [f"{k}->{v}" for k, v in sorted(renamed.items())])
        return res

    def _log_once(self, reason: str, items: list[str]) -> None:
        if not items:
            return
        key = (self.version, reason, tuple(items))
        if key in _logged_once:
            return
        _logged_once.add(key)
        if reason == "missing":
            _log.info(
                "sector_map_missing_symbols", version=self.version, count=len(items), symbols=items
            )
        elif reason == "renamed":
            _log.warning("sector_map_renamed_symbols", version=self.version, renames=items)
        else:
            _log.info(
                "universe_excluded",
                reason=reason,
                version=self.version,
                count=len(items),
                symbols=items,
            )

    def to_csv(self) -> str:
        """Serialise in the file format (with the version directive)."""
        buf = io.StringIO()
        buf.write(f"# version: {self.version}\n")
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["symbol", "sector", "aliases"])
        for e in self.entries.values():
            w.writerow([e.symbol, e.sector, "|".join(e.aliases)])
        return buf.getvalue()


def parse_sector_map(text: str, source: str) -> SectorMap:
    """Parse and validate map text; errors name ``source`` and the line."""
    version: str | None = None
    body: list[tuple[int, str]] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = _VERSION_RE.match(stripped)
            if m:
                version = m.group(1)
            continue
        body.append((n, raw))
    if not body:
        raise SectorMapError(source, None, "empty file (expected a header symbol,sector[,aliases])")
    header_line, header = body[0]
    cols = [c.strip().lower() for c in next(csv.reader([header]))]
    if cols[:2] != ["symbol", "sector"] or any(c not in ("aliases",) for c in cols[2:]):
        raise SectorMapError(
            source, header_line, f"bad header {header!r}: expected symbol,sector[,aliases]"
        )
    entries: dict[str, SectorEntry] = {}
    owner: dict[str, tuple[str, int]] = {}  # any name (symbol or alias) -> (entry, line)
    for n, raw in body[1:]:
        row = next(csv.reader([raw]))
        if len(row) < 2 or len(row) > len(cols):
            raise SectorMapError(source, n, f"expected {len(cols)} columns, got {len(row)}")
        symbol = normalise_symbol(row[0])
        if not _SYMBOL_RE.match(symbol):
            raise SectorMapError(
                source, n, f"bad symbol {row[0]!r}: expected an exchange id like BTCUSDT"
            )
        sector = normalise_sector(row[1]) if row[1].strip() else None
        if sector is None:
            valid = ", ".join(ALL_SECTORS)
            raise SectorMapError(
                source, n, f"{symbol}: unknown sector {row[1].strip()!r} (valid: {valid})"
            )
        aliases_raw = row[2] if len(row) > 2 else ""
        aliases = tuple(normalise_symbol(a) for a in aliases_raw.split("|") if a.strip())
        for name in (symbol, *aliases):
            if not _SYMBOL_RE.match(name):
                raise SectorMapError(source, n, f"bad alias {name!r}")
            if name in owner:
                other, other_line = owner[name]
                raise SectorMapError(
                    source, n, f"{name} already mapped on line {other_line} (entry {other})"
                )
            owner[name] = (symbol, n)
        if symbol == BENCHMARK_SYMBOL and sector != BENCHMARK:
            # STRATEGY.md: BTC is the benchmark and in no rotation sector, whatever a file
            # (e.g. the shared data's sectors.csv, "Currency/PoW") says.
            sector = BENCHMARK
        entries[symbol] = SectorEntry(symbol, sector, aliases, n)
    if not entries:
        raise SectorMapError(source, None, "no entries")
    benchmarks = [e for e in entries.values() if e.sector == BENCHMARK]
    if len(benchmarks) > 1:
        lines = ", ".join(str(e.line) for e in benchmarks)
        raise SectorMapError(source, benchmarks[1].line, f"more than one benchmark (lines {lines})")
    if version is None:
        version = "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return SectorMap(version=version, source=source, entries=entries)


def load_sector_map(path: Path | None = None) -> SectorMap:
    """Load the override file at ``path`` (``universe.sector_map``), or the bundled default."""
    if path is None:
        ref = resources.files("bot.data").joinpath(DEFAULT_RESOURCE)
        return parse_sector_map(ref.read_text(encoding="utf-8"), f"<default {DEFAULT_RESOURCE}>")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SectorMapError(str(path), None, f"cannot read ({exc.strerror or exc})") from exc
    return parse_sector_map(text, str(path))


def sector_map_from_mapping(
    mapping: Mapping[str, str], *, source: str = "<mapping>", version: str | None = None
) -> SectorMap:
    """Build a map from ``{symbol: sector}`` (e.g. a data directory's ``sectors.csv``)."""
    lines = ["symbol,sector"] + [f"{s},{sec}" for s, sec in mapping.items()]
    if version is not None:
        lines.insert(0, f"# version: {version}")
    return parse_sector_map("\n".join(lines) + "\n", source)
