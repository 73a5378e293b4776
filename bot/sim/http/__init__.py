"""The simulator's Bybit v5 HTTP face (SIM-VENUE.md): aiohttp app, auth, faults, admin."""

from bot.sim.http.server import SimServer, SimServerConfig, build_context

__all__ = ["SimServer", "SimServerConfig", "build_context"]
