"""The README documents every config key with its default (regenerate with ``make docs``)."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_readme_config_table_is_current() -> None:
    table = subprocess.run(
        [sys.executable, "-m", "bot.cli", "config", "keys", "--markdown"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- config-table:start -->\n") + len("<!-- config-table:start -->\n")
    end = readme.index("<!-- config-table:end -->")
    assert readme[start:end] == table, "README config table is stale: run `make docs`"
    assert table.count("\n| `") > 50


def test_readme_quick_start_has_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme[readme.index("## Quick start") : readme.index("## Modes")]
    assert "make run" in quick and "make test" in quick
