"""deploy/docker-compose.sim.yml: parsed, merged into the stack, and its sim command really run."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.runtime.safety import check_mode

from .conftest import free_port
from .deployfiles import load_yaml
from .test_stack_files import COMPOSE, SIM_COMPOSE


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR:-default}`` / ``${VAR}`` substitution and ``$$`` escape."""

    def repl(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(3) or ""
        return env.get(name) or default

    return re.sub(r"\$\$|\$\{(\w+)(:-([^}]*))?\}", repl, text)


@pytest.fixture(scope="module")
def sim_compose() -> dict[str, Any]:
    data = load_yaml(SIM_COMPOSE)
    assert isinstance(data, dict)
    return data


def test_override_points_rotor_at_the_sim(sim_compose: dict[str, Any]) -> None:
    base = load_yaml(COMPOSE)
    services = sim_compose["services"]
    assert set(services) == {"sim", "rotor"}
    rotor = services["rotor"]
    assert rotor["command"] == ["run", "--mode", "testnet", "--api-url", "http://sim:18080"]
    # The start-up safety check lets testnet mode talk to the simulator's service name (it
    # once took the unknown host for mainnet, and rotor restarted in a loop).
    (warning,) = check_mode(
        "testnet", live_flag=False, url=rotor["command"][-1], has_keys=True, environ={}
    )
    assert "http://sim:18080" in warning
    assert rotor["depends_on"]["sim"]["condition"] == "service_healthy"
    sim = services["sim"]
    assert sim["image"] == base["services"]["rotor"]["image"], "the sim runs from the same image"
    assert set(sim["secrets"]) <= set(base["secrets"]), "only secrets the base file declares"
    for port in sim["ports"]:
        assert port.startswith("127.0.0.1:")
    assert "18080" in sim["command"][0] and sim["healthcheck"]["test"][0] == "CMD"
    # Its own health check, not the daemon's (which probes a control API the sim has not got).
    assert "status" not in sim["healthcheck"]["test"] and "/v5/market/time" in str(
        sim["healthcheck"]["test"]
    )


@pytest.mark.timeout(90)
def test_sim_command_starts_the_simulator_and_passes_its_healthcheck(
    sim_compose: dict[str, Any], tmp_path: Path
) -> None:
    sim = sim_compose["services"]["sim"]
    port = free_port()
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "exchange_api_key").write_text("sim-key")
    (secrets / "exchange_api_secret").write_text("sim-secret-123")

    def container(text: str) -> str:
        text = interpolate(text, {"SIM_SPEED": "600"})
        return text.replace("/run/secrets", secrets.as_posix()).replace("18080", str(port))

    entrypoint = sim["entrypoint"]
    assert entrypoint[:2] == ["/usr/bin/tini", "--"]  # tini itself is not on this machine
    argv = [*entrypoint[2:], container(sim["command"][0])]
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    assert "sim-secret-123" not in argv[-1], "secrets are read from files, not put in the command"
    stderr = (tmp_path / "sim.err").open("w")
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        ready = _read_ready_line(proc, tmp_path / "sim.err", timeout_s=60)
        assert ready["event"] == "sim_ready" and ready["url"].endswith(f":{port}")
        check = [container(word) for word in sim["healthcheck"]["test"][1:]]
        check[0] = sys.executable if check[0] == "python" else check[0]
        probe = subprocess.run(check, capture_output=True, text=True, timeout=30, check=False)
        assert probe.returncode == 0, probe.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        stderr.close()


def _read_ready_line(proc: subprocess.Popen[str], stderr: Path, timeout_s: float) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"sim exited with {proc.returncode}: {stderr.read_text()[-2000:]}")
        readable, _, _ = select.select([proc.stdout], [], [], 0.5)
        if readable:
            line = proc.stdout.readline()
            if line.startswith("{"):
                parsed: dict[str, Any] = json.loads(line)
                if parsed.get("event") == "sim_ready":
                    return parsed
    pytest.fail("no sim_ready line within the time limit")
