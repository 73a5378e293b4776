"""Market data: panel store, data-directory I/O, sector map, bundled sample."""
