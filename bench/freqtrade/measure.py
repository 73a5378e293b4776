"""Wall time and peak memory of one child command and its whole process tree (Linux /proc).

Runs in the driver's interpreter (rotor's), standard library only. The child gets its own
session, so every process it starts (freqtrade's hyperopt workers too) shares its session
id: a sampler thread sums their resident memory every ``interval`` seconds and keeps the
largest sum (the tree's peak, sampled), and ``wait4`` gives the exact peak of the single
largest process, and its CPU time (user + system, descendants included), which a shared
machine's load inflates far less than the wall time. A command that outlives ``timeout`` is killed with its whole session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class Measured:
    """One finished child command."""

    wall_s: float
    cpu_s: float  # user + system of the child and every descendant it waited for
    tree_peak_mb: float  # sampled sum over the process tree
    max_proc_mb: float  # exact: largest single process (ru_maxrss)
    returncode: int
    timed_out: bool
    log: Path


def _members(sid: int) -> list[int]:
    """Process ids of session ``sid``."""
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
            # Fields after the parenthesised command name: state ppid pgrp session ...
            if int(stat[stat.rindex(b")") + 2 :].split()[3]) == sid:
                out.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # the process ended between the listing and the read
    return out


def _session_rss(sid: int) -> int:
    """Bytes resident in every process of session ``sid``."""
    total = 0
    for pid in _members(sid):
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            continue
    return total


class _Sampler(threading.Thread):
    def __init__(self, sid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.sid, self.interval = sid, interval
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, _session_rss(self.sid))
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join()


def _kill_session(sid: int) -> None:
    """SIGKILL the process group our child leads, only while some member of it still lives
    (a live group keeps its id from being reused)."""
    if not _members(sid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sid, signal.SIGKILL)


def run_measured(
    cmd: Sequence[str],
    log: Path,
    *,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    interval: float = 0.1,
) -> Measured:
    """Run ``cmd`` (stdout and stderr to ``log``); never longer than ``timeout`` seconds."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, env=dict(env) if env is not None else None,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        sampler = _Sampler(proc.pid, interval)
        sampler.start()
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            _kill_session(proc.pid)

        timer = threading.Timer(timeout, expire)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        _kill_session(proc.pid)  # workers a crashed parent left behind (its session only)
    return Measured(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        tree_peak_mb=sampler.peak / 2**20,
        max_proc_mb=usage.ru_maxrss / 1024,
        returncode=proc.returncode,
        timed_out=expired.is_set(),
        log=log,
    )


def run_checked(
    cmd: Sequence[str],
    log: Path,
    *,
    timeout: float,
    what: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Measured:
    """``run_measured`` that stops the benchmark with the log's tail when the command fails."""
    m = run_measured(cmd, log, timeout=timeout, cwd=cwd, env=env)
    if m.timed_out or m.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
        why = f"timed out after {timeout:.0f} s" if m.timed_out else f"exit code {m.returncode}"
        raise SystemExit(f"{what} failed ({why}); log {log}:\n" + "\n".join(tail))
    return m
