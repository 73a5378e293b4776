"""Single-instance guard: one row in ``leases`` that the running daemon holds and renews.

Taking the lease is one atomic ``INSERT … ON CONFLICT DO UPDATE … WHERE expired OR mine``
on both backends, so two processes racing for it cannot both win. A lease whose holder stopped
renewing (crash, kill -9) expires after ``ttl_s`` and can then be taken over.

A lease held by a process that is provably gone is taken over at once, without waiting for it
to expire (a supervisor restarting a SIGKILLed daemon): the holder ran on this host (same
hostname) and its pid is not alive (or is a zombie). When the recorded pid is this process's own
pid (a container restarted under the same hostname, where the daemon is pid 1 again) the holder
is only declared gone once it has missed a renewal. The take-over is a compare-and-swap on the
row the check read, so a holder that renews meanwhile keeps its lease.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.observability.logging import get_logger
from bot.storage.db import WRITE
from bot.storage.errors import StorageError
from bot.storage.tables import leases

log = get_logger(__name__)

DEFAULT_LEASE = "daemon"


def wall_ms() -> int:
    """Wall-clock UTC milliseconds (lease times compare across processes)."""
    return time.time_ns() // 1_000_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds (or wants) the lease."""

    run_id: str
    host: str
    pid: int

    @classmethod
    def this_process(cls, run_id: str) -> LeaseHolder:
        return cls(run_id=run_id, host=socket.gethostname(), pid=os.getpid())


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """The stored lease row."""

    name: str
    holder: LeaseHolder
    acquired_ms: int
    renewed_ms: int
    expires_ms: int

    def expired(self, now_ms: int) -> bool:
        return self.expires_ms <= now_ms


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` names a live process on this host (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class LeaseHeldError(StorageError):
    """Another live instance holds the lease: this one must not run (yet).

    ``same_host`` tells a second instance on this machine (refuse to start) from an instance on
    another host, whose lease a restarted daemon waits out.
    """

    def __init__(self, info: LeaseInfo, now_ms: int, where: str) -> None:
        self.same_host = info.holder.host == socket.gethostname()
        h = info.holder
        remaining_s = max(0.0, (info.expires_ms - now_ms) / 1000)
        renewed_ago_s = max(0.0, (now_ms - info.renewed_ms) / 1000)
        super().__init__(
            f"database {where} is in use by another rotor instance: run {h.run_id} "
            f"(host {h.host}, pid {h.pid}) has held the '{info.name}' lease since "
            f"{_iso(info.acquired_ms)}, last renewed {renewed_ago_s:.0f}s ago, expiring at "
            f"{_iso(info.expires_ms)} (in {remaining_s:.0f}s). Only one rotor may use a "
            f"database: stop that instance first (e.g. `kill -TERM {h.pid}` on {h.host}, or "
            f"`docker stop`), or point this one at another database.url. If that instance "
            f"died, its lease expires by itself; start again after {_iso(info.expires_ms)}."
        )
        self.info = info


class LeaseLostError(StorageError):
    """Our lease was taken over (it expired unrenewed): stop trading at once."""


def _row_to_info(row: Row[Any]) -> LeaseInfo:
    m = row._mapping
    return LeaseInfo(
        name=m["name"],
        holder=LeaseHolder(m["holder"], m["host"], int(m["pid"])),
        acquired_ms=int(m["acquired_ms"]),
        renewed_ms=int(m["renewed_ms"]),
        expires_ms=int(m["expires_ms"]),
    )


class Lease:
    """Acquire, renew and release the named lease for ``holder``."""

    def __init__(
        self,
        engine: AsyncEngine,
        holder: LeaseHolder,
        *,
        ttl_s: float,
        name: str = DEFAULT_LEASE,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"lease ttl_s must be > 0, got {ttl_s}")
        self._engine = engine
        self.holder = holder
        self.name = name
        self.ttl_ms = int(ttl_s * 1000)
        self._clock = clock

    @property
    def where(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    async def acquire(self) -> LeaseInfo:
        """Take the lease if it is free, expired or already ours; else raise ``LeaseHeldError``."""
        now = self._clock()
        h = self.holder
        values = {
            "name": self.name,
            "holder": h.run_id,
            "host": h.host,
            "pid": h.pid,
            "acquired_ms": now,
            "renewed_ms": now,
            "expires_ms": now + self.ttl_ms,
        }
        is_pg = self._engine.dialect.name == "postgresql"
        stmt = (pg_insert if is_pg else sqlite_insert)(leases).values(values)
        mine = leases.c.holder == stmt.excluded.holder
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "holder": stmt.excluded.holder,
                "host": stmt.excluded.host,
                "pid": stmt.excluded.pid,
                # Re-acquiring our own lease keeps its original start time.
                "acquired_ms": case((mine, leases.c.acquired_ms), else_=stmt.excluded.acquired_ms),
                "renewed_ms": stmt.excluded.renewed_ms,
                "expires_ms": stmt.excluded.expires_ms,
            },
            where=(leases.c.expires_ms <= now) | mine,
        )
        _, info = await self._write_then_read(stmt)
        if info is None or info.holder.run_id != h.run_id:
            if info is None:  # pragma: no cover - the upsert always leaves a row
                raise StorageError(f"lease {self.name!r} vanished while acquiring it")
            if await self._holder_gone(info):
                return await self._take_over(info)
            raise LeaseHeldError(info, now, self.where)
        return info

    async def _holder_gone(self, info: LeaseInfo) -> bool:
        """The holder ran on this host and is provably not running any more."""
        h = info.holder
        if h.host != socket.gethostname():
            return False  # its pid means nothing here
        if h.pid != os.getpid():
            return not pid_alive(h.pid)
        # Our own pid: a restarted container. Gone once it missed a renewal.
        await asyncio.sleep(self.ttl_ms / 3000 + 0.5)
        again = await self.current()
        return again is not None and again.holder == h and again.renewed_ms == info.renewed_ms

    async def _take_over(self, dead: LeaseInfo) -> LeaseInfo:
        """Replace the dead holder's row, only if it is still exactly the row we judged."""
        now = self._clock()
        h = self.holder
        stmt = (
            update(leases)
            .where(
                leases.c.name == self.name,
                leases.c.holder == dead.holder.run_id,
                leases.c.renewed_ms == dead.renewed_ms,
            )
            .values(
                holder=h.run_id,
                host=h.host,
                pid=h.pid,
                acquired_ms=now,
                renewed_ms=now,
                expires_ms=now + self.ttl_ms,
            )
        )
        _, info = await self._write_then_read(stmt)
        if info is None or info.holder.run_id != h.run_id:
            if info is None:  # pragma: no cover - the row is never deleted by a take-over
                raise StorageError(f"lease {self.name!r} vanished while taking it over")
            raise LeaseHeldError(info, now, self.where)
        d = dead.holder
        log.warning(
            "lease_taken_over_from_dead",
            lease=self.name,
            dead_run=d.run_id,
            dead_pid=d.pid,
            host=d.host,
            renewed_ago_s=round((now - dead.renewed_ms) / 1000, 1),
        )
        return info

    async def renew(self) -> LeaseInfo:
        """Extend our lease by ``ttl``; raise ``LeaseLostError`` if someone else holds it now."""
        now = self._clock()
        stmt = (
            update(leases)
            .where(leases.c.name == self.name, leases.c.holder == self.holder.run_id)
            .values(renewed_ms=now, expires_ms=now + self.ttl_ms)
        )
        rowcount, info = await self._write_then_read(stmt)
        if rowcount != 1 or info is None:
            who = "nobody" if info is None else f"run {info.holder.run_id} on {info.holder.host}"
            raise LeaseLostError(
                f"lost the '{self.name}' lease on {self.where} (now held by {who}); "
                "another instance may be trading this account: stopping"
            )
        return info

    async def release(self) -> bool:
        """Give the lease up (graceful stop); False if it was not ours any more."""
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(**WRITE)
            async with conn.begin():
                result = await conn.execute(
                    delete(leases).where(
                        leases.c.name == self.name, leases.c.holder == self.holder.run_id
                    )
                )
        return result.rowcount == 1

    async def current(self) -> LeaseInfo | None:
        """The stored lease row, whoever holds it."""
        async with self._engine.connect() as conn:
            return await self._read(conn)

    async def keep_alive(self, interval_s: float | None = None) -> None:
        """Renew every ``interval_s`` (default a third of the TTL) until cancelled.

        Returns only by raising: ``LeaseLostError`` when the lease was taken over or could not
        be renewed before it expired, or ``CancelledError`` when the caller stops it. A failed
        renewal (database busy or briefly unreachable) is retried at the next tick.
        """
        interval = interval_s if interval_s is not None else self.ttl_ms / 3000
        valid_until = self._clock() + self.ttl_ms
        while True:
            await asyncio.sleep(interval)
            try:
                valid_until = (await self.renew()).expires_ms
            except (DBAPIError, OSError) as exc:
                if self._clock() >= valid_until:
                    raise LeaseLostError(
                        f"could not renew the '{self.name}' lease on {self.where} before it "
                        f"expired: {type(exc).__name__}: {exc}"
                    ) from exc
                log.warning("lease_renew_failed", lease=self.name, error=str(exc))

    async def _write_then_read(self, stmt: Any) -> tuple[int, LeaseInfo | None]:
        """Run ``stmt`` and read the row back in one write transaction: (rows changed, row)."""
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(**WRITE)
            async with conn.begin():
                result = await conn.execute(stmt)
                return result.rowcount, await self._read(conn)

    async def _read(self, conn: AsyncConnection) -> LeaseInfo | None:
        row = (await conn.execute(select(leases).where(leases.c.name == self.name))).first()
        return None if row is None else _row_to_info(row)
