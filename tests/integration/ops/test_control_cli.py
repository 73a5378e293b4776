"""`rotor status|pause|resume|kill` against the real ControlServer (in-process and as a subprocess)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from bot.cli import app
from bot.commands.control_cmd import (
    EXIT_UNAUTHORIZED,
    EXIT_UNREACHABLE,
    base_url,
    render_status,
)
from bot.config import ControlConfig
from bot.domain import TradingState

from .conftest import TOKEN, RunningControl, free_port

ROTOR = Path(sys.executable).parent / "rotor"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ROTOR_* variable from the outer shell may leak into these tests."""
    for name in list(os.environ):
        if name.startswith("ROTOR"):
            monkeypatch.delenv(name)
    yield


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_status_json_with_token_from_env(control: RunningControl) -> None:
    code, out, _ = run(
        "status", "--json", "--url", control.url, env={"ROTOR__CONTROL__TOKEN": TOKEN}
    )
    assert code == 0
    assert json.loads(out) == control.daemon.status()


def test_status_uses_configured_host_port_and_token_file(
    control: RunningControl, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    cfg = tmp_path / "rotor.toml"
    # A container-style wildcard bind: the client must connect over loopback instead.
    cfg.write_text(f'[control]\nhost = "0.0.0.0"\nport = {control.port}\n')
    env = {"ROTOR__CONTROL__TOKEN_FILE": str(token_file)}
    code, out, err = run("status", "--json", "--config", str(cfg), env=env)
    assert code == 0, err
    assert json.loads(out)["state"] == "ACTIVE"
    # Same through environment variables only.
    env = {"ROTOR__CONTROL__PORT": str(control.port), "ROTOR__CONTROL__TOKEN": TOKEN}
    code, out, err = run("status", "--json", env=env)
    assert code == 0, err
    assert json.loads(out)["equity"] == "10012.50"


def test_pause_resume_kill_drive_the_daemon(control: RunningControl) -> None:
    env = {"ROTOR__CONTROL__TOKEN": TOKEN}
    code, out, _ = run("pause", "--url", control.url, env=env)
    assert code == 0 and "REDUCING" in out
    assert control.daemon.state.value == "REDUCING"
    code, out, _ = run("kill", "--url", control.url, env=env)
    assert code == 0 and "HALTED" in out
    assert control.daemon.state.value == "HALTED"
    code, out, _ = run("resume", "--url", control.url, env=env)
    assert code == 0 and "ACTIVE" in out
    assert control.daemon.calls == [("pause", "api"), ("kill", "api"), ("resume", "api")]


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_missing_or_wrong_token_is_a_clear_error(
    control: RunningControl, token: str | None
) -> None:
    env = {"ROTOR__CONTROL__TOKEN": token} if token else None
    for command in ("status", "pause", "kill"):
        code, out, err = run(command, "--url", control.url, env=env)
        assert code == EXIT_UNAUTHORIZED, (command, err)
        assert "token missing or wrong" in err or "no control token configured" in err
        assert "ROTOR__CONTROL__TOKEN" in err
        assert out == ""
    assert control.daemon.calls == []
    assert control.daemon.state is TradingState.ACTIVE
    events = [json.loads(line) for line in control.logs.getvalue().splitlines()]
    refused = [e["path"] for e in events if e["event"] == "control_unauthorized"]
    # Without a token the client does not even ask; a wrong one is refused by the server.
    assert refused == ([] if token is None else ["/status", "/pause", "/kill"])
    assert TOKEN not in control.logs.getvalue()


def test_unreachable_daemon_says_so() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run("status", "--url", url, env={"ROTOR__CONTROL__TOKEN": TOKEN})
    assert code == EXIT_UNREACHABLE
    assert f"is rotor running? control API at {url} not reachable" in err


def test_slow_kill_times_out_with_advice(control: RunningControl) -> None:
    control.daemon.kill_delay_s = 2.0
    env = {"ROTOR__CONTROL__TOKEN": TOKEN}
    code, _, err = run("kill", "--url", control.url, "--timeout", "0.3", env=env)
    assert code == EXIT_UNREACHABLE
    assert "no answer within 0.3 s" in err and "rotor status" in err


def test_health_and_ready_need_no_token(control: RunningControl) -> None:
    code, out, _ = run("status", "--health", "--url", control.url)
    assert code == 0 and json.loads(out) == {"status": "alive"}
    code, out, _ = run("status", "--ready", "--url", control.url)
    assert code == 0 and json.loads(out)["ready"] is True
    control.daemon.ready = False
    code, _, err = run("status", "--ready", "--url", control.url)
    assert code == 1 and "503" in err


def test_health_ignores_a_broken_token_file_when_url_given(control: RunningControl) -> None:
    # The health check must not depend on secrets being readable.
    env = {"ROTOR__CONTROL__TOKEN_FILE": "/nonexistent/token"}
    code, _, _ = run("status", "--health", "--url", control.url, env=env)
    assert code == 0


def test_bad_url_is_rejected() -> None:
    code, _, err = run("status", "--url", "127.0.0.1:8080", env={"ROTOR__CONTROL__TOKEN": "x"})
    assert code == 2 and "expected http://HOST:PORT" in err


def test_base_url_maps_wildcards_to_loopback() -> None:
    assert base_url(ControlConfig(host="0.0.0.0", port=9, token="t")) == "http://127.0.0.1:9"
    assert base_url(ControlConfig(host="::", port=9, token="t")) == "http://[::1]:9"
    assert base_url(ControlConfig(host="10.1.2.3", port=80, token="t")) == "http://10.1.2.3:80"


def test_rich_rendering_shows_state_and_positions(control: RunningControl) -> None:
    buf = io.StringIO()
    render_status(Console(file=buf, width=140, color_system=None), control.daemon.status())
    text = buf.getvalue()
    for needle in ("ACTIVE", "testnet", "10012.50", "SOLUSDT", "liquidation_price", "124.80"):
        assert needle in text


def test_healthcheck_subprocess_is_quick(control: RunningControl) -> None:
    """The exact HEALTHCHECK command, as Docker runs it: a fresh process, exit 0/1."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    ok = subprocess.run(
        [str(ROTOR), "status", "--health", "--url", control.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    started = time.monotonic()
    down = subprocess.run(
        [str(ROTOR), "status", "--health", "--url", f"http://127.0.0.1:{free_port()}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert down.returncode == 1
    assert "not reachable" in down.stderr
    assert time.monotonic() - started < 10


def test_health_probe_survives_an_invalid_config(control: RunningControl, tmp_path: Path) -> None:
    """An operator's typo in the config file must not make a running daemon look dead."""
    cfg = tmp_path / "rotor.toml"
    cfg.write_text(f"[control]\nport = {control.port}\n\n[risk]\nrisk_per_trde = 0.01\n")
    code, out, err = run("status", "--health", "--config", str(cfg))
    assert code == 0 and json.loads(out) == {"status": "alive"}
    assert "risk.risk_per_trde: unknown key" in err and "probing" in err
    # Wildcard bind without a token (the config refuses it): still probed, over loopback.
    env = {"ROTOR__CONTROL__HOST": "0.0.0.0", "ROTOR__CONTROL__PORT": str(control.port)}
    code, _, err = run("status", "--ready", env=env)
    assert code == 0 and "control.token" in err
    # Commands that need the token still refuse an invalid config.
    code, _, err = run("pause", "--config", str(cfg), env={"ROTOR__CONTROL__TOKEN": TOKEN})
    assert code == 2 and "risk_per_trde" in err
    assert control.daemon.calls == []
