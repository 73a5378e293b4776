"""The CLI imports only the command it runs; ``bot.cli.app`` and ``--help`` have them all."""

from __future__ import annotations

import subprocess
import sys

from bot import cli

PROBE = """
import sys
from bot import cli
sys.argv = ["rotor", *sys.argv[1:]]
try:
    cli.main()
except SystemExit:
    pass
print("MODULES", " ".join(sorted(m for m in sys.modules if m.startswith(("bot.", "pyarrow")))))
"""


def loaded(*args: str) -> tuple[str, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    out, _, mods = proc.stdout.rpartition("MODULES")
    return out, set(mods.split())


def test_version_loads_no_command_module() -> None:
    out, mods = loaded("version")
    assert out.strip().startswith("rotor ")
    assert not {m for m in mods if m.startswith("bot.commands.")}


def test_a_command_loads_only_its_own_module() -> None:
    out, mods = loaded("status", "--help")
    assert "Usage: rotor status" in out
    commands = {m for m in mods if m.startswith("bot.commands.")}
    assert "bot.commands.control_cmd" in commands
    assert not commands & {"bot.commands.sim_cmd", "bot.commands.backtest_cmd"}
    assert not any(m.startswith("pyarrow") for m in mods)


def test_full_app_and_help_list_every_command() -> None:
    names = {c.name for c in cli.app.registered_commands} | {
        g.name for g in cli.app.registered_groups
    }
    assert names == set(cli.COMMANDS) | {"version"}
    out, mods = loaded("--help")
    for name in cli.COMMANDS:
        assert f" {name} " in out
    assert "bot.commands.sim_cmd" in mods


def test_requested_only_takes_a_leading_command_name() -> None:
    assert cli.requested(["run", "--mode", "replay"]) == "run"
    assert cli.requested(["version"]) == "version"
    assert cli.requested(["--help"]) is None
    assert cli.requested(["nosuch"]) is None
    assert cli.requested([]) is None
