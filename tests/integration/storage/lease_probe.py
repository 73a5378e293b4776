"""A daemon-like second process: ask for the lease, report, exit.

Usage: python lease_probe.py URL RUN_ID TTL_S. Exit 0 when it got (and released) the lease,
3 with the refusal message on stderr when another instance holds it.
"""

from __future__ import annotations

import asyncio
import sys

from bot.storage.db import create_engine
from bot.storage.lease import Lease, LeaseHeldError, LeaseHolder

EXIT_HELD = 3


async def main(url: str, run_id: str, ttl_s: float) -> int:
    engine = create_engine(url)
    lease = Lease(engine, LeaseHolder.this_process(run_id), ttl_s=ttl_s)
    try:
        info = await lease.acquire()
        print(f"acquired by {info.holder.run_id}")
        await lease.release()
        return 0
    except LeaseHeldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_HELD
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
