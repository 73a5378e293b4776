"""Venues: the Venue protocol, the ccxt adapter and the paper venue."""
