"""The daemon: supervisor, bar-close cycle, control server, operator signals, kill switch."""
