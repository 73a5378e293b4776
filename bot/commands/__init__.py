"""CLI command groups; ``bot.cli`` registers each one. Commands only appear once they work."""
