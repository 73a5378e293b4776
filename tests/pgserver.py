"""A throwaway PostgreSQL for the test suite when no ``ROTOR_TEST_PG_URL`` is given.

Started once per test process (each xdist worker has its own) from the local server binaries
(``initdb``/``pg_ctl`` on PATH, else the newest ``/usr/lib/postgresql/*/bin``), on a free
loopback port, with trust authentication and durability off (it is thrown away); stopped and
deleted when the process exits. PostgreSQL refuses to run as root, so as root it runs as the
``postgres`` account that the server packages create.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

_started: tuple[str | None, str] | None = None


def server_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None when none is installed."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def throwaway_url() -> tuple[str | None, str]:
    """``(url, "")`` for a running throwaway server, or ``(None, why not)``."""
    global _started
    if _started is None:
        _started = _start()
    return _started


def _start() -> tuple[str | None, str]:
    bin_dir = server_bin()
    if bin_dir is None:
        return None, "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or /usr/lib/postgresql"
    run_as: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no 'postgres' account to run the server"
        run_as = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="rotor-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "data", root / "server.log"
    port = _free_port()
    init = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-N"]
    opts = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60"]
    try:
        subprocess.run([*run_as, *init], check=True, capture_output=True, text=True, timeout=120)
        subprocess.run([*run_as, *start, "start"], check=True, capture_output=True, timeout=90)
    except (OSError, subprocess.SubprocessError) as exc:
        detail = log.read_text()[-500:] if log.exists() else getattr(exc, "stderr", "") or ""
        shutil.rmtree(root, ignore_errors=True)
        return None, f"could not start a throwaway PostgreSQL from {bin_dir}: {exc} {detail}"

    def stop() -> None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres", ""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
