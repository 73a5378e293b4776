"""rotor: sector-rotation / laggard daemon for USDT perpetuals."""

__version__ = "0.1.0"
