"""Fault injection for the simulator's HTTP faces (SIM-VENUE.md, "Fault injection").

A fault set is JSON ``{"seed": 1, "faults": [{"kind": ..., "endpoint": ..., ...}, ...]}``. The
kinds are the same on both faces; how a refusal looks is the face's (``bot.sim.http.face``),
and which endpoints a fault may name comes from the face's ``FaultProfile``. Kinds:

- ``latency``: sleep ``ms`` plus uniform ``[0, jitter_ms]`` before answering.
- ``error_rate``: with ``probability`` answer HTTP ``status`` (a 5xx, plain-text body) or, when
  ``ret_code`` is given instead, that venue error code in the venue's error body (default: the
  face's system-error code, Bybit 10016 / Binance -1001). Not applied.
- ``rate_limit``: at most ``requests`` per ``window_ms`` (fixed windows on the wall clock); the
  excess is refused as the venue refuses it, by ``scope`` (Bybit: ``"account"``, the per-UID
  limit, HTTP 200 with retCode 10006; ``"ip"``, HTTP 403. Binance: ``"ip"`` or ``"account"``,
  HTTP 429 with ``Retry-After``; ``"ban"``, HTTP 418 with ``Retry-After``). Not applied.
- ``consistency_lag``: ``endpoint`` (one of the private reads) shows account changes only
  ``ms`` after they happened, so a position can appear before its execution.
- ``timeout``: with ``probability`` hold the request ``ms`` (default 120 s, i.e. past any
  client timeout), then answer HTTP 504. Not applied.
- ``drop_response``: with ``probability`` APPLY the request, then close the connection without
  a reply: the lost-acknowledgement case.
- ``maintenance``: from ``after_ms`` to ``after_ms + duration_ms`` after the set is installed
  (both wall ms; no duration = until replaced) answer HTTP 503 to everything in scope.
- ``stale_tickers``: the ticker endpoints (``/v5/market/tickers``; Binance's 24h tickers and
  premium index) keep serving the snapshot taken when the fault set was installed
  (``duration_ms`` optional).
- ``clock_skew``: the server clock (the recvWindow check and every ``time`` it reports) is
  shifted by ``offset_ms``.

``endpoint`` is an exact path such as ``/v5/order/create``, a method and a path such as
``"POST /fapi/v1/order"`` (Binance serves create, query and cancel on one path), or ``"*"`` (all
API paths); the admin paths under ``/sim/`` are never faulted. The RNG is seeded, so a run is reproducible for a
given request sequence. Every injected fault is counted by kind and by endpoint.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

KINDS = (
    "latency",
    "error_rate",
    "rate_limit",
    "timeout",
    "drop_response",
    "maintenance",
    "stale_tickers",
    "clock_skew",
    "consistency_lag",
)
# Keys each kind accepts besides "kind" and "endpoint".
_ALLOWED: dict[str, frozenset[str]] = {
    "latency": frozenset({"ms", "jitter_ms", "probability"}),
    "error_rate": frozenset({"probability", "status", "ret_code"}),
    "rate_limit": frozenset({"requests", "window_ms", "scope"}),
    "timeout": frozenset({"probability", "ms"}),
    "drop_response": frozenset({"probability"}),
    "maintenance": frozenset({"after_ms", "duration_ms"}),
    "stale_tickers": frozenset({"after_ms", "duration_ms"}),
    "clock_skew": frozenset({"offset_ms"}),
    "consistency_lag": frozenset({"ms"}),
}
DEFAULT_TIMEOUT_HOLD_MS = 120_000
_METHOD_PATH = re.compile(r"^(GET|POST|PUT|DELETE) /\S*$")


class FaultConfigError(ValueError):
    """A fault set is malformed; the message names the offending entry and key."""


@dataclass(frozen=True, slots=True)
class FaultProfile:
    """What a face lets a fault set name: the endpoints a consistency_lag can hold back
    (they list account events), its ticker endpoints, its rate-limit scopes, and the error
    code an ``error_rate`` without one answers with."""

    laggable: tuple[str, ...]
    tickers: tuple[str, ...]
    scopes: tuple[str, ...]
    default_error_code: int


@dataclass(frozen=True, slots=True)
class Fault:
    """One configured fault."""

    kind: str
    endpoint: str = "*"
    probability: float = 1.0
    ms: float = 0.0
    jitter_ms: float = 0.0
    status: int | None = None
    ret_code: int | None = None
    requests: int = 0
    window_ms: int = 1000
    after_ms: int = 0
    duration_ms: int | None = None
    offset_ms: int = 0
    scope: str = ""

    @property
    def path(self) -> str:
        """The endpoint's path (without a method)."""
        return self.endpoint.split(" ", 1)[-1]

    def matches(self, path: str, method: str | None = None) -> bool:
        """Whether this fault is scoped to ``path`` (and ``method``, when it names one)."""
        if self.endpoint == "*":
            return True
        if " " in self.endpoint:
            verb, where = self.endpoint.split(" ", 1)
            return where == path and (method is None or verb == method)
        return self.endpoint == path


@dataclass(slots=True)
class Decision:
    """What the middleware must do for one request."""

    delay_ms: float = 0.0
    error_status: int | None = None  # HTTP 5xx with a plain body
    error_ret_code: int | None = None  # HTTP 200 with this retCode
    rate_limited: str | None = None  # "account" (10006 in HTTP 200) or "ip" (HTTP 403)
    limit: tuple[int, int, int] | None = None  # (limit, remaining, reset wall ms) headers
    hold_ms: float | None = None  # timeout
    maintenance: bool = False
    drop_response: bool = False


def _num(where: str, key: str, value: Any, *, integer: bool = False, lo: float = 0.0) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultConfigError(f"{where}: '{key}' must be a number, got {value!r}")
    if value < lo:
        raise FaultConfigError(f"{where}: '{key}' must be >= {lo}, got {value!r}")
    if integer:
        if int(value) != value:
            raise FaultConfigError(f"{where}: '{key}' must be an integer, got {value!r}")
        return int(value)
    return float(value)


def _parse_fault(i: int, raw: Any, profile: FaultProfile) -> Fault:
    where = f"faults[{i}]"
    if not isinstance(raw, dict):
        raise FaultConfigError(f"{where}: expected an object, got {type(raw).__name__}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise FaultConfigError(f"{where}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
    where = f"{where} ({kind})"
    endpoint = raw.get("endpoint", "*")
    if not isinstance(endpoint, str) or not (
        endpoint == "*" or endpoint.startswith("/") or _METHOD_PATH.match(endpoint)
    ):
        raise FaultConfigError(
            f"{where}: 'endpoint' must be '*', an API path such as /v5/x, or a method and a "
            "path such as 'POST /fapi/v1/order'"
        )
    unknown = set(raw) - {"kind", "endpoint"} - _ALLOWED[kind]
    if unknown:
        raise FaultConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
            f"allowed: {', '.join(sorted(_ALLOWED[kind]))}"
        )
    kw: dict[str, Any] = {"kind": kind, "endpoint": endpoint}
    if "probability" in raw:
        p = _num(where, "probability", raw["probability"])
        if p > 1:
            raise FaultConfigError(f"{where}: 'probability' must be in [0, 1], got {p}")
        kw["probability"] = p
    for key in ("ms", "jitter_ms"):
        if key in raw:
            kw[key] = _num(where, key, raw[key])
    for key in ("requests", "window_ms", "after_ms", "duration_ms"):
        if key in raw:
            kw[key] = _num(where, key, raw[key], integer=True)
    if "offset_ms" in raw:
        kw["offset_ms"] = _num(where, "offset_ms", raw["offset_ms"], integer=True, lo=-1e15)
    if kind == "error_rate":
        if "status" in raw and "ret_code" in raw:
            raise FaultConfigError(f"{where}: give either 'status' or 'ret_code', not both")
        if "status" in raw:
            st = _num(where, "status", raw["status"], integer=True)
            if not 500 <= st <= 599:
                raise FaultConfigError(f"{where}: 'status' must be a 5xx HTTP status, got {st}")
            kw["status"] = st
        else:
            code = raw.get("ret_code", profile.default_error_code)
            kw["ret_code"] = _num(where, "ret_code", code, integer=True, lo=-1e15)
    if kind == "rate_limit":
        if "requests" not in raw:
            raise FaultConfigError(f"{where}: 'requests' (budget per window) is required")
        if kw.get("window_ms", 1000) <= 0:
            raise FaultConfigError(f"{where}: 'window_ms' must be > 0")
    if kind == "rate_limit":
        scope = raw.get("scope", profile.scopes[0])
        if scope not in profile.scopes:
            raise FaultConfigError(f"{where}: 'scope' must be one of {', '.join(profile.scopes)}")
        kw["scope"] = scope
    if kind == "consistency_lag":
        if endpoint not in profile.laggable:
            raise FaultConfigError(
                f"{where}: 'endpoint' must be one of {', '.join(profile.laggable)}"
            )
        if "ms" not in raw:
            raise FaultConfigError(f"{where}: 'ms' (the delay) is required")
    if kind == "timeout" and "ms" not in raw:
        kw["ms"] = float(DEFAULT_TIMEOUT_HOLD_MS)
    if kind == "stale_tickers" and endpoint not in ("*", *profile.tickers):
        raise FaultConfigError(
            f"{where}: 'endpoint' must be '*' or one of the tickers {', '.join(profile.tickers)}"
        )
    if kind == "clock_skew" and "offset_ms" not in raw:
        raise FaultConfigError(f"{where}: 'offset_ms' is required")
    return Fault(**kw)


def parse_fault_set(
    data: Any, profile: FaultProfile, known: set[str] | None = None
) -> tuple[int, list[Fault]]:
    """Validate a fault-set JSON object for a face's ``profile``; return ``(seed, faults)``.

    With ``known`` (the served paths), an endpoint that matches nothing is refused: a typo
    would otherwise silently disable the fault.
    """
    if not isinstance(data, dict):
        raise FaultConfigError('fault set: expected a JSON object {"seed": ..., "faults": [...]}')
    unknown = set(data) - {"seed", "faults"}
    if unknown:
        raise FaultConfigError(f"fault set: unknown key(s) {', '.join(sorted(unknown))}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise FaultConfigError(f"fault set: 'seed' must be an integer, got {seed!r}")
    faults = data.get("faults", [])
    if not isinstance(faults, list):
        raise FaultConfigError("fault set: 'faults' must be a list")
    parsed = [_parse_fault(i, f, profile) for i, f in enumerate(faults)]
    if known is not None:
        for i, f in enumerate(parsed):
            if f.endpoint != "*" and f.path not in known:
                raise FaultConfigError(
                    f"faults[{i}] ({f.kind}): endpoint {f.endpoint!r} is not served "
                    f"(one of {', '.join(sorted(known))})"
                )
    return seed, parsed


@dataclass
class FaultInjector:
    """The active fault set, its seeded RNG, its rate-limit windows and its counters."""

    profile: FaultProfile
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    installed_wall_ms: int = 0
    rng: random.Random = field(default_factory=random.Random)
    counts: Counter[str] = field(default_factory=Counter)
    counts_by_endpoint: Counter[str] = field(default_factory=Counter)
    _windows: dict[int, tuple[int, int]] = field(default_factory=dict)

    def install(self, data: Any, wall_ms: int, known: set[str] | None = None) -> None:
        """Replace the active set (validated first; on error the old set stays)."""
        seed, faults = parse_fault_set(data, self.profile, known)
        self.seed, self.faults = seed, faults
        self.installed_wall_ms = wall_ms
        self.rng = random.Random(seed)
        self._windows.clear()

    def describe(self) -> dict[str, Any]:
        """The active set as JSON-ready data."""
        return {
            "seed": self.seed,
            "faults": [
                {k: v for k, v in _fault_dict(f).items() if v is not None} for f in self.faults
            ],
        }

    def _count(self, kind: str, path: str) -> None:
        self.counts[kind] += 1
        self.counts_by_endpoint[f"{kind} {path}"] += 1

    def _in_window(self, f: Fault, wall_ms: int) -> bool:
        t = wall_ms - self.installed_wall_ms
        if t < f.after_ms:
            return False
        return f.duration_ms is None or t < f.after_ms + f.duration_ms

    def _hit(self, f: Fault) -> bool:
        # Draw even at probability 1 so adding a fault does not shift other faults' draws oddly.
        return self.rng.random() < f.probability

    def clock_offset_ms(self, path: str) -> int:
        """Total clock skew in effect for ``path``."""
        return sum(f.offset_ms for f in self.faults if f.kind == "clock_skew" and f.matches(path))

    def lag_ms(self, path: str) -> int:
        """How far behind the account ``path`` answers (consistency_lag), in ms."""
        return int(
            max(
                (f.ms for f in self.faults if f.kind == "consistency_lag" and f.matches(path)),
                default=0,
            )
        )

    def tickers_stale(self, wall_ms: int, path: str | None = None) -> bool:
        """Whether the ticker endpoint ``path`` (None: any of them) must keep serving its
        frozen snapshot."""
        paths = self.profile.tickers if path is None else (path,)
        for f in self.faults:
            if (
                f.kind == "stale_tickers"
                and any(f.matches(p) for p in paths)
                and self._in_window(f, wall_ms)
            ):
                return True
        return False

    def count_stale(self, path: str) -> None:
        """Record that a stale ticker snapshot was served."""
        self._count("stale_tickers", path)

    def decide(self, path: str, wall_ms: int, method: str | None = None) -> Decision:
        """Roll the dice for one ``method`` request to ``path`` (faults apply in list order)."""
        d = Decision()
        for f in self.faults:
            if not f.matches(path, method):
                continue
            if f.kind == "latency":
                if self._hit(f):
                    d.delay_ms += f.ms + (self.rng.uniform(0, f.jitter_ms) if f.jitter_ms else 0)
                    self._count("latency", path)
            elif f.kind == "maintenance":
                if self._in_window(f, wall_ms):
                    d.maintenance = True
                    self._count("maintenance", path)
            elif f.kind == "rate_limit":
                key = id(f)
                start, used = self._windows.get(key, (wall_ms, 0))
                if wall_ms - start >= f.window_ms:
                    start, used = wall_ms - (wall_ms - start) % f.window_ms, 0
                used += 1
                self._windows[key] = (start, used)
                d.limit = (f.requests, max(f.requests - used, 0), start + f.window_ms)
                if used > f.requests:
                    d.rate_limited = f.scope
                    self._count("rate_limit", path)
            elif f.kind == "error_rate":
                if self._hit(f):
                    d.error_status, d.error_ret_code = f.status, f.ret_code
                    self._count("error_rate", path)
            elif f.kind == "timeout":
                if self._hit(f):
                    d.hold_ms = f.ms
                    self._count("timeout", path)
            elif f.kind == "drop_response" and self._hit(f):
                d.drop_response = True
                self._count("drop_response", path)
        return d


def _fault_dict(f: Fault) -> dict[str, Any]:
    return {
        "kind": f.kind,
        "endpoint": f.endpoint,
        "probability": f.probability if "probability" in _ALLOWED[f.kind] else None,
        "ms": f.ms if f.kind in ("latency", "timeout", "consistency_lag") else None,
        "jitter_ms": f.jitter_ms if f.kind == "latency" else None,
        "status": f.status,
        "ret_code": f.ret_code,
        "requests": f.requests if f.kind == "rate_limit" else None,
        "window_ms": f.window_ms if f.kind == "rate_limit" else None,
        "after_ms": f.after_ms if f.kind in ("maintenance", "stale_tickers") else None,
        "duration_ms": f.duration_ms,
        "offset_ms": f.offset_ms if f.kind == "clock_skew" else None,
        "scope": f.scope if f.kind == "rate_limit" else None,
    }
