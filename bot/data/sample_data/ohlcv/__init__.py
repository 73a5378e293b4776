"""Bundled sample data (package data; built by ``python -m bot.data.sample``)."""
