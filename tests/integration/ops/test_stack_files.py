"""Compose stack, secrets script, systemd unit and env files: parsed and checked for conventions."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_settings

from .deployfiles import DEPLOY, ROOT, load_yaml, parse_env_file, parse_unit

COMPOSE = DEPLOY / "docker-compose.yml"
SIM_COMPOSE = DEPLOY / "docker-compose.sim.yml"
SECRET_WORDS = re.compile(r"PASSWORD|TOKEN|SECRET|API_KEY|DATABASE__URL", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = load_yaml(COMPOSE)
    assert isinstance(data, dict)
    return data


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"rotor", "postgres", "prometheus", "grafana"}
    for name, svc in compose["services"].items():
        assert "image" in svc, name
        image = svc["image"]
        assert ":latest" not in image and re.search(r":[^:]*\d", image), f"{name}: pin {image}"


def test_compose_files_are_valid_for_compose_v1_and_v2() -> None:
    """Compose v1 (1.29, Debian 12's docker-compose) rejects a top-level ``name:``; the
    project name comes from COMPOSE_PROJECT_NAME in .env, which both versions read."""
    for path in (COMPOSE, SIM_COMPOSE):
        data = load_yaml(path)
        assert set(data) <= {"services", "secrets", "volumes", "networks"}, (path, set(data))
    assert parse_env_file(DEPLOY / ".env.example")["COMPOSE_PROJECT_NAME"] == "rotor"


def test_postgres_is_built_locally_from_debian_packages(compose: dict[str, Any]) -> None:
    pg = compose["services"]["postgres"]
    assert pg["build"] == {"context": "./postgres"}
    dockerfile = (DEPLOY / "postgres" / "Dockerfile").read_text()
    assert "FROM ${BASE_IMAGE}" in dockerfile and "postgresql-15" in dockerfile
    assert pg["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_every_published_port_is_loopback_only(compose: dict[str, Any]) -> None:
    published = 0
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), (name, port)
            published += 1
        assert "network_mode" not in svc, f"{name}: host networking would bypass the binding"
    assert published >= 3
    assert "ports" not in compose["services"]["postgres"], "the database stays internal"


def test_postgres_healthcheck_volume_and_rotor_waits(compose: dict[str, Any]) -> None:
    pg = compose["services"]["postgres"]
    assert pg["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    named = [v.split(":", 1)[0] for v in pg["volumes"]]
    assert named == ["postgres-data"] and "postgres-data" in compose["volumes"]
    rotor = compose["services"]["rotor"]
    assert rotor["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_rotor_service_runs_the_daemon_like_the_image(compose: dict[str, Any]) -> None:
    rotor = compose["services"]["rotor"]
    assert rotor["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    assert (COMPOSE.parent / rotor["build"]["context"] / "Dockerfile").is_file()
    assert rotor["command"][:2] == ["run", "--mode"]
    assert rotor["healthcheck"]["test"] == ["CMD", "rotor", "status", "--health"]
    grace = rotor["stop_grace_period"]
    assert grace.endswith("s") and int(grace[:-1]) > 30, "graceful stop needs up to 30 s"
    assert "rotor-data:/var/lib/rotor" in rotor["volumes"], "directory volume for SQLite/WAL"


def test_no_plain_secrets(compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    for name, spec in declared.items():
        assert spec == {"file": f"./secrets/{name}"}, name
    for name, svc in compose["services"].items():
        for key, value in (svc.get("environment") or {}).items():
            if not SECRET_WORDS.search(key):
                continue
            assert key.endswith("_FILE"), f"{name}: {key} must come from a *_FILE secret"
            secret = str(value).removeprefix("/run/secrets/")
            assert str(value) == f"/run/secrets/{secret}", (name, key, value)
            assert secret in svc.get("secrets", []) and secret in declared, (name, secret)
    text = COMPOSE.read_text()
    assert not re.search(r"://[^/\s:@]+:[^@\s$]+@", text), "credentials in a URL"


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), f"{name}: {source}"
            else:
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"


def test_env_example_covers_every_variable(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text() + SIM_COMPOSE.read_text()
    used = set(re.findall(r"(?<!\$)\$\{(\w+)(?::?-[^}]*)?\}", text))
    example = parse_env_file(DEPLOY / ".env.example")
    assert used <= set(example), used - set(example)
    assert not [k for k in example if SECRET_WORDS.search(k)], "no secrets in .env"
    assert example["ROTOR_MODE"] in {"replay", "paper", "testnet"}
    gitignore = (DEPLOY / ".gitignore").read_text().split()
    assert ".env" in gitignore and "secrets/" in gitignore


def test_the_container_gets_the_database_url_compose_gives(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """Image ENV + compose environment, as the container sees them: rotor uses PostgreSQL from
    the database_url secret (once, the image's SQLite URL silently won)."""
    from .test_image_conventions import image_env

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in compose["secrets"]:
        (secrets / name).write_text(f"{name}-value")
    (secrets / "database_url").write_text("postgresql+asyncpg://rotor:pw@postgres:5432/rotor")
    rotor = compose["services"]["rotor"]
    env = {**image_env(), **{k: str(v) for k, v in rotor["environment"].items()}}
    env = {k: v.replace("/run/secrets", str(secrets)) for k, v in env.items()}
    env["ROTOR_CONFIG"] = str(DEPLOY / "rotor.toml")
    env["ROTOR__LOGGING__LEVEL"] = "INFO"
    settings = load_settings(None, environ=env)
    assert settings.database.url == "postgresql+asyncpg://rotor:pw@postgres:5432/rotor"
    assert str(settings.execution.kill_file).startswith("/var/lib/rotor/")
    assert settings.control.port == 8080 and settings.control.host == "0.0.0.0"
    # An operator who also sets the URL directly gets an error naming both, not a guess.
    with pytest.raises(ConfigError, match="ROTOR__DATABASE__URL_FILE"):
        load_settings(None, environ={**env, "ROTOR__DATABASE__URL": "sqlite+aiosqlite:///x.db"})


def test_make_secrets_creates_what_compose_mounts(compose: dict[str, Any], tmp_path: Path) -> None:
    sh = shutil.which("sh")
    assert sh is not None
    target = tmp_path / "secrets"
    script = DEPLOY / "make-secrets.sh"
    first = subprocess.run([sh, str(script), str(target)], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert {p.name for p in target.iterdir()} == set(compose["secrets"])
    assert target.stat().st_mode & 0o777 == 0o700
    token = (target / "control_token").read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    password = (target / "postgres_password").read_text()
    url = (target / "database_url").read_text()
    assert url == f"postgresql+asyncpg://rotor:{password}@postgres:5432/rotor"
    settings = load_settings(
        None, environ={"ROTOR__DATABASE__URL_FILE": str(target / "database_url")}
    )
    assert settings.database.password() == password and password in settings.secrets()
    again = subprocess.run([sh, str(script), str(target)], capture_output=True, text=True)
    assert again.returncode == 0 and "kept" in again.stdout
    assert (target / "control_token").read_text() == token, "existing secrets are never replaced"


def test_systemd_unit() -> None:
    unit = parse_unit(DEPLOY / "rotor.service")
    service = unit["Service"]
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    assert service["TimeoutStopSec"] == "45"
    assert service["EnvironmentFile"] == "/etc/rotor/rotor.env"
    assert service["User"] == "rotor" and service["Group"] == "rotor"
    assert service["ExecStart"].split()[:2] == ["/opt/rotor/venv/bin/rotor", "run"]
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[key] == value, key
    env = parse_env_file(DEPLOY / "rotor.env.example")
    db_dir = str(Path(env["ROTOR__DATABASE__URL"].split(":///", 1)[1]).parent)
    assert db_dir in service["ReadWritePaths"].split()
    assert service["StateDirectory"] == "rotor" and db_dir == "/var/lib/rotor"
    assert dict(unit["Install"]) == {"WantedBy": "multi-user.target"}


def test_systemd_env_example_is_a_valid_config() -> None:
    env = parse_env_file(DEPLOY / "rotor.env.example")
    assert env["ROTOR_MODE"] in {"replay", "paper", "testnet"}
    env["ROTOR_CONFIG"] = str(DEPLOY / "rotor.toml")
    settings = load_settings(None, environ=env)
    assert settings.control.host == "127.0.0.1"
    assert settings.database.url.startswith("sqlite+aiosqlite:////var/lib/rotor/")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_accepts_the_unit(tmp_path: Path) -> None:
    unit = tmp_path / "rotor.service"
    unit.write_text((DEPLOY / "rotor.service").read_text())
    out = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    # The only acceptable complaint: the venv does not exist on this machine.
    problems = [
        line
        for line in (out.stdout + out.stderr).splitlines()
        if line.strip() and "/opt/rotor/venv/bin/rotor is not executable" not in line
    ]
    assert problems == []


def test_repository_root_is_the_build_context() -> None:
    assert (ROOT / "pyproject.toml").is_file() and (ROOT / ".dockerignore").is_file()
