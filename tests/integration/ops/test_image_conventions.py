"""Dockerfile and .dockerignore conventions, read with dockerfile-parse. deploy/image-test.sh
builds and runs the image on a real engine; these checks run anywhere."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.config import ConfigError, load_settings

from .deployfiles import DEPLOY, ROOT, Stage, dockerfile, stages

DOCKERFILE = ROOT / "Dockerfile"
PG_DOCKERFILE = DEPLOY / "postgres" / "Dockerfile"


def image_env() -> dict[str, str]:
    """The ENV of rotor's runtime stage (``${PATH}`` left for the caller)."""
    env: dict[str, str] = dockerfile(DOCKERFILE).envs
    return env


@pytest.fixture(scope="module")
def parsed() -> list[Stage]:
    return stages(dockerfile(DOCKERFILE))


@pytest.fixture(scope="module")
def runtime(parsed: list[Stage]) -> Stage:
    return parsed[-1]


@pytest.mark.parametrize("path", [DOCKERFILE, PG_DOCKERFILE], ids=["rotor", "postgres"])
def test_builds_with_the_classic_builder_and_no_registry_but_the_base(path: Path) -> None:
    """No ``# syntax=`` directive (it pulls a frontend from Docker Hub) and no BuildKit-only
    ``RUN --mount``: plain `docker build` and Compose v1 work."""
    text = path.read_text()
    assert not re.search(r"^#\s*syntax\s*=", text, flags=re.MULTILINE | re.IGNORECASE)
    parser = dockerfile(path)
    for item in parser.structure:
        if item["instruction"] == "RUN":
            assert "--mount" not in item["value"], item["startline"]
    # The one base image, a build argument whose default is Debian 12 (bookworm).
    assert set(parser.parent_images) == {"debian:bookworm-slim"}
    assert re.search(r"^ARG BASE_IMAGE=debian:bookworm-slim$", text, flags=re.MULTILINE)
    assert all(
        i["value"].startswith("${BASE_IMAGE}")
        for i in parser.structure
        if i["instruction"] == "FROM"
    )


def test_python_is_debians_311_the_version_the_tests_run(parsed: list[Stage]) -> None:
    """bookworm's python3 is 3.11; pyproject.toml targets 3.11. No python:3.12 base."""
    for stage in parsed:
        apt = " ".join(i.value for i in stage.all("RUN") if "apt-get install" in i.value)
        assert re.search(r"--no-install-recommends python3\b", apt), stage.alias
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["mypy"]["python_version"] == "3.11"
    assert project["tool"]["ruff"]["target-version"] == "py311"


def test_build_stage_makes_the_venv_from_the_wheel(parsed: list[Stage]) -> None:
    build = parsed[0]
    assert build.alias == "build"
    runs = " ".join(i.value for i in build.all("RUN"))
    assert "python3 -m venv /opt/rotor" in runs
    assert "pip wheel --no-deps" in runs
    assert "--requirement requirements.txt --constraint deploy/constraints.txt" in runs
    assert "pip install --no-deps /dist/rotor_bot-" in runs


def test_runtime_gets_the_venv_not_the_source(runtime: Stage) -> None:
    copies = [i.value for i in runtime.all("COPY")]
    assert copies == ["--from=build /opt/rotor /opt/rotor"], "no source tree in the image"
    assert not runtime.all("ADD")
    assert not [i for i in runtime.all("RUN") if "pip " in i.value]


def test_non_root_user_without_useradd_warnings(runtime: Stage) -> None:
    (user,) = runtime.all("USER")
    uid = dockerfile(DOCKERFILE).args["ROTOR_UID"]
    name, _, group = user.value.replace("${ROTOR_UID}", uid).partition(":")
    assert name == group == "10001", "numeric UID so runAsNonRoot-style checks can verify it"
    adduser = " ".join(i.value for i in runtime.all("RUN"))
    assert '--uid "${ROTOR_UID}"' in adduser and "--shell /usr/sbin/nologin" in adduser
    # uid 10001 is outside the system range: --system makes useradd/groupadd warn every build.
    assert "--system" not in adduser


def test_tini_is_pid_1_and_entrypoint_is_exec_form(runtime: Stage) -> None:
    (entry,) = runtime.all("ENTRYPOINT")
    argv = entry.exec_form()
    assert Path(argv[0]).name == "tini" and argv[1:] == ["--", "rotor"]
    (cmd,) = runtime.all("CMD")
    assert cmd.exec_form() == ["run"]
    apt = " ".join(i.value for i in runtime.all("RUN") if "apt-get install" in i.value)
    assert re.search(r"apt-get install -y --no-install-recommends [\w\s-]*\btini\b", apt)
    assert "rm -rf /var/lib/apt/lists/*" in apt
    (stop,) = runtime.all("STOPSIGNAL")
    assert stop.value == "SIGTERM"


def test_healthcheck_uses_rotor_itself(runtime: Stage) -> None:
    (check,) = runtime.all("HEALTHCHECK")
    assert check.exec_form() == ["rotor", "status", "--health"]
    text = DOCKERFILE.read_text()
    assert "curl" not in re.sub(r"#.*", "", text) and "wget" not in text


def test_volume_env_and_exposed_port(runtime: Stage) -> None:
    (volume,) = runtime.all("VOLUME")
    assert volume.value == '["/var/lib/rotor"]'
    (workdir,) = runtime.all("WORKDIR")
    assert workdir.value == "/var/lib/rotor"
    env = image_env()
    (expose,) = runtime.all("EXPOSE")
    assert expose.value == env["ROTOR__CONTROL__PORT"] == "8080"
    assert env["ROTOR__CONTROL__HOST"] == "0.0.0.0"
    assert env["PATH"].startswith("/opt/rotor/bin:")
    assert not any("TOKEN" in k or "SECRET" in k or "API_KEY" in k for k in env), (
        "no secret may be baked into the image"
    )


def test_image_sets_no_database_url() -> None:
    """Compose gives ROTOR__DATABASE__URL_FILE; an image URL too would be the key twice."""
    env = image_env()
    assert not [k for k in env if k.startswith("ROTOR__DATABASE__")], env
    # Without one, the default SQLite file is relative to WORKDIR, i.e. inside the volume.
    default = load_settings(None, environ={}).database.url
    assert default.startswith("sqlite+aiosqlite:///") and not default.startswith(
        "sqlite+aiosqlite:////"
    )


def test_image_env_refuses_to_start_without_a_token() -> None:
    env = {k: v for k, v in image_env().items() if k.startswith("ROTOR")}
    with pytest.raises(ConfigError, match=r"control\.token"):
        load_settings(None, environ=env)
    settings = load_settings(None, environ={**env, "ROTOR__CONTROL__TOKEN": "t0ken"})
    assert settings.control.host == "0.0.0.0" and settings.control.port == 8080


def test_dockerignore_keeps_state_and_secrets_out(parsed: list[Stage]) -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    required = {".git", ".venv", "var", "tests", "deploy/secrets", "deploy/.env", "**/__pycache__"}
    assert required <= patterns, required - patterns
    for stage in parsed:
        for copy in stage.all("COPY"):
            if copy.value.startswith("--from"):
                continue
            *sources, _dest = copy.value.split()
            for src in sources:
                assert (ROOT / src).exists(), f"COPY {src}: missing"
                assert src.split("/")[0] not in patterns, f"COPY {src} is excluded"


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
