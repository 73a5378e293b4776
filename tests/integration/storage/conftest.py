"""Storage tests use the shared database fixtures (``tests/dbfixtures.py``): SQLite and PostgreSQL."""

from __future__ import annotations

from tests.conftest import ROOT

ROTOR = ROOT / ".venv" / "bin" / "rotor"
PYTHON = ROOT / ".venv" / "bin" / "python"
