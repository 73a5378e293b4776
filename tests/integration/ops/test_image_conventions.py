"""Dockerfile and .dockerignore conventions (no Docker engine here, so the file is checked)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.config import ConfigError, load_settings

from .deployfiles import (
    ROOT,
    Stage,
    dockerignore_patterns,
    is_ignored,
    parse_dockerfile,
    substitute,
)

DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def parsed() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile(DOCKERFILE)


@pytest.fixture(scope="module")
def runtime(parsed: tuple[dict[str, str], list[Stage]]) -> Stage:
    return parsed[1][-1]


def test_multi_stage_with_pinned_python_base(parsed: tuple[dict[str, str], list[Stage]]) -> None:
    _, stages = parsed
    assert len(stages) >= 2, "multi-stage: a build stage and a runtime stage"
    for stage in stages:
        # Full patch tag (never `latest`, `3.12` or `3.12-slim`), optionally with a digest.
        assert re.fullmatch(
            r"python:3\.12\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", stage.image
        ), stage.image
    assert stages[0].alias == "build"


def test_build_stage_makes_the_wheel(parsed: tuple[dict[str, str], list[Stage]]) -> None:
    build = parsed[1][0]
    runs = " ".join(i.args for i in build.all("RUN"))
    assert "pip wheel --no-deps" in runs
    assert "--constraint deploy/constraints.txt" in runs


def test_runtime_installs_the_wheel_not_the_source(runtime: Stage) -> None:
    assert not runtime.all("COPY") and not runtime.all("ADD"), "no source tree in the image"
    installs = [i.args for i in runtime.all("RUN") if "pip install" in i.args]
    assert len(installs) == 1
    install = installs[0]
    assert "--mount=type=bind,from=build" in install
    assert "--no-index" in install and "--find-links /wheels rotor-bot" in install
    assert "python -m venv /opt/rotor" in install


def test_non_root_user(parsed: tuple[dict[str, str], list[Stage]], runtime: Stage) -> None:
    users = runtime.all("USER")
    assert users, "USER must be set"
    args = {**parsed[0], **_stage_args(runtime)}
    user = substitute(users[-1].args, args)
    name, _, group = user.partition(":")
    assert name not in {"root", "0", ""} and group not in {"root", "0"}
    assert name.isdigit(), "numeric UID so runAsNonRoot-style checks can verify it"
    adduser = " ".join(i.args for i in runtime.all("RUN"))
    assert '--uid "${ROTOR_UID}"' in adduser and "--shell /usr/sbin/nologin" in adduser


def test_tini_is_pid_1_and_entrypoint_is_exec_form(runtime: Stage) -> None:
    (entry,) = runtime.all("ENTRYPOINT")
    argv = entry.exec_form()
    assert Path(argv[0]).name == "tini" and argv[1:] == ["--", "rotor"]
    (cmd,) = runtime.all("CMD")
    assert cmd.exec_form() == ["run"]
    apt = " ".join(i.args for i in runtime.all("RUN") if "apt-get install" in i.args)
    assert re.search(r"apt-get install -y --no-install-recommends tini\b", apt)
    assert "rm -rf /var/lib/apt/lists/*" in apt
    (stop,) = runtime.all("STOPSIGNAL")
    assert stop.args == "SIGTERM"


def test_healthcheck_uses_rotor_itself(runtime: Stage) -> None:
    (check,) = runtime.all("HEALTHCHECK")
    assert check.exec_form() == ["rotor", "status", "--health"]
    text = DOCKERFILE.read_text()
    assert "curl" not in re.sub(r"#.*", "", text) and "wget" not in text


def test_volume_env_and_exposed_port(
    parsed: tuple[dict[str, str], list[Stage]], runtime: Stage
) -> None:
    (volume,) = runtime.all("VOLUME")
    assert volume.args == '["/var/lib/rotor"]'
    env = runtime.env(parsed[0])
    db_url = env["ROTOR__DATABASE__URL"]
    assert db_url == "sqlite+aiosqlite:////var/lib/rotor/rotor.db"
    # The database *file* sits inside the volume *directory* (WAL needs the -wal/-shm siblings).
    assert str(Path(db_url.split(":///", 1)[1]).parent) == "/var/lib/rotor"
    (expose,) = runtime.all("EXPOSE")
    assert expose.args == env["ROTOR__CONTROL__PORT"] == "8080"
    assert env["ROTOR__CONTROL__HOST"] == "0.0.0.0"
    assert env["PATH"].startswith("/opt/rotor/bin:")
    assert not any("TOKEN" in k or "SECRET" in k or "API_KEY" in k for k in env), (
        "no secret may be baked into the image"
    )


def test_image_env_refuses_to_start_without_a_token(
    parsed: tuple[dict[str, str], list[Stage]], runtime: Stage
) -> None:
    env = {k: v for k, v in runtime.env(parsed[0]).items() if k.startswith("ROTOR")}
    with pytest.raises(ConfigError, match=r"control\.token"):
        load_settings(None, environ=env)
    settings = load_settings(None, environ={**env, "ROTOR__CONTROL__TOKEN": "t0ken"})
    assert settings.control.host == "0.0.0.0" and settings.control.port == 8080


def test_dockerignore_keeps_state_out_and_what_copy_needs_in(
    parsed: tuple[dict[str, str], list[Stage]],
) -> None:
    patterns = dockerignore_patterns(ROOT / ".dockerignore")
    for excluded in (
        ".git",
        ".venv/bin/python",
        "var/rotor.db",
        "bot/__pycache__/cli.cpython-311.pyc",
        "tests/conftest.py",
        ".pytest_cache/v",
        "deploy/secrets/control_token",
        "deploy/.env",
        "rotor_bot.egg-info/PKG-INFO",
        "build/lib/bot/cli.py",
    ):
        assert is_ignored(excluded, patterns), excluded
    for stage in parsed[1]:
        for copy in stage.all("COPY"):
            if copy.args.startswith("--from"):
                continue
            *sources, _dest = copy.args.split()
            for src in sources:
                assert (ROOT / src).exists(), f"COPY {src}: missing"
                assert not is_ignored(src, patterns), f"COPY {src} is excluded by .dockerignore"


def _stage_args(stage: Stage) -> dict[str, str]:
    out = {}
    for arg in stage.all("ARG"):
        name, _, default = arg.args.partition("=")
        out[name.strip()] = default.strip()
    return out


def test_constraints_pin_every_runtime_dependency_within_its_range() -> None:
    """The image installs deploy/constraints.txt versions; each must satisfy pyproject.toml."""
    pins: dict[str, str] = {}
    for raw in (ROOT / "deploy" / "constraints.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"constraints.txt: {line!r} is not an exact pin"
            pins[canonicalize_name(name)] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        pinned = pins.get(canonicalize_name(req.name))
        assert pinned is not None, (
            f"{req.name} is not pinned in deploy/constraints.txt; regenerate it (see its header)"
        )
        assert req.specifier.contains(pinned, prereleases=True), (req.name, pinned, str(req))
