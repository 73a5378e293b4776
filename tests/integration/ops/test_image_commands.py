"""Run the image's commands as the image would, without a Docker engine (deploy/image-test.sh
does the same on a real one).

The build stage's `pip wheel --no-deps` runs on a copy of exactly what the Dockerfile COPYs
(after .dockerignore, which excludes nothing they need). The wheel is installed into a fresh
venv (like /opt/rotor); rotor's dependencies come from the project venv through a .pth overlay,
so no index is needed. Then `rotor version`, `rotor config check`, `rotor db upgrade`, the
HEALTHCHECK command and the entrypoint run from that venv with the image's ENV and WORKDIR.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import ControlConfig
from bot.observability.metrics import Metrics

from .conftest import TOKEN, StandInDaemon, _serve
from .deployfiles import ROOT, Stage, dockerfile, stages

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SKIP_OVERLAY = ("rotor_bot", "__editable__", "bot", "pip", "setuptools", "_distutils_hack")


@dataclass
class Image:
    """The emulated image: its venv, ENV, volume directory and run helper."""

    venv: Path
    env: dict[str, str]
    volume: Path
    wheel: Path
    runtime: Stage

    def run(self, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        full_env = {**self.env, **env}
        exe = shutil.which(argv[0], path=full_env["PATH"])
        assert exe is not None and exe.startswith(str(self.venv)), (argv[0], exe)
        return subprocess.run(
            [exe, *argv[1:]],
            env=full_env,
            cwd=self.volume,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _copy_context(build: Stage, dest: Path) -> None:
    """What the build stage's COPY lines put in /src (caches left out, as .dockerignore does)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for copy in build.all("COPY"):
        *sources, target = copy.value.split()
        for src in sources:
            out = dest / target if not target.endswith("/") else dest / target / Path(src).name
            if (ROOT / src).is_dir():
                shutil.copytree(ROOT / src, out, symlinks=True, ignore=ignore)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / src, out)


def _overlay(into: Path) -> Path:
    """Symlinks to the project venv's installed dependencies, minus rotor itself and pip."""
    overlay = into / "deps"
    overlay.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if entry.name.startswith(SKIP_OVERLAY) or entry.suffix == ".pth":
            continue
        (overlay / entry.name).symlink_to(entry)
    return overlay


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    tmp = tmp_path_factory.mktemp("image")
    parser = dockerfile(ROOT / "Dockerfile")
    build, runtime = stages(parser)
    src, dist = tmp / "src", tmp / "dist"
    _copy_context(build, src)
    assert not (src / "tests").exists() and (src / "pyproject.toml").is_file()

    # Build stage: the rotor wheel from the copied sources, as its RUN line does.
    assert any("pip wheel --no-deps --wheel-dir /dist ." in i.value for i in build.all("RUN"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(dist), "."],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = dist.glob("rotor_bot-*.whl")

    # The venv /opt/rotor: the wheel, its dependencies from the overlay (no index).
    venv = tmp / "opt" / "rotor"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    purelib = next((venv / "lib").glob("python3*/site-packages"))
    (purelib / "_rotor_test_deps.pth").write_text(str(_overlay(tmp)) + "\n")
    install = [str(venv / "bin" / "pip"), "install", "--no-deps", "--no-index", str(wheel)]
    done = subprocess.run(install, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    volume = tmp / "var" / "lib" / "rotor"
    volume.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTOR")}
    for key, value in parser.envs.items():
        value = value.replace("/var/lib/rotor", volume.as_posix())
        if key == "PATH":
            value = value.replace("/opt/rotor", str(venv)) + env.get("PATH", "")
        env[key] = value
    yield Image(venv, env, volume, wheel, runtime)


def test_wheel_ships_code_data_and_migrations(image: Image) -> None:
    names = set(zipfile.ZipFile(image.wheel).namelist())
    assert "bot/cli.py" in names and "bot/py.typed" in names
    assert any(n.startswith("bot/data/sample_data/ohlcv/") for n in names)
    assert not any(n.startswith(("tests/", "deploy/", "docs/")) for n in names)
    if (ROOT / "migrations" / "env.py").is_file():
        assert "bot/storage/migrations/env.py" in names
        assert any(n.startswith("bot/storage/migrations/versions/r") for n in names)


def test_installed_rotor_is_the_wheel_not_the_source(image: Image) -> None:
    where = image.run(["python", "-c", "import bot, bot.cli; print(bot.__file__)"])
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(image.venv)), where.stdout
    version = image.run(["rotor", "version"])
    assert version.returncode == 0 and version.stdout.strip() == "rotor 0.1.0"


def test_config_check_with_the_image_env(image: Image, tmp_path: Path) -> None:
    refused = image.run(["rotor", "config", "check", "--json"])
    assert refused.returncode == 2 and "control.token" in refused.stderr
    token_file = tmp_path / "control_token"
    token_file.write_text(TOKEN)
    ok = image.run(
        ["rotor", "config", "check", "--json"], ROTOR__CONTROL__TOKEN_FILE=str(token_file)
    )
    assert ok.returncode == 0, ok.stderr
    assert (
        '"host": "0.0.0.0"' in ok.stdout
        and '"url": "sqlite+aiosqlite:///var/rotor.db"' in ok.stdout
    )
    assert TOKEN not in ok.stdout + ok.stderr


def test_db_upgrade_creates_the_database_in_the_volume(image: Image) -> None:
    if " db " not in image.run(["rotor", "--help"]).stdout:
        pytest.skip("`rotor db` is not registered yet")
    done = image.run(["rotor", "db", "upgrade"], ROTOR__CONTROL__TOKEN="t")
    assert done.returncode == 0, done.stdout + done.stderr
    # No URL in the image: the default var/rotor.db, relative to WORKDIR, is in the volume.
    assert (image.volume / "var" / "rotor.db").is_file()


def test_healthcheck_command_against_a_control_server(image: Image) -> None:
    (check,) = image.runtime.all("HEALTHCHECK")
    argv = check.exec_form()
    cfg = ControlConfig(host="127.0.0.1", port=0, token=SecretStr(TOKEN))
    for running in _serve(cfg, StandInDaemon(), Metrics()):
        env = {"ROTOR__CONTROL__PORT": str(running.port), "ROTOR__CONTROL__TOKEN": TOKEN}
        healthy = image.run(argv, **env)
        assert healthy.returncode == 0, healthy.stderr
        port = running.port
    # The server is stopped now: the same command reports unhealthy (exit 1), quickly.
    down = image.run(argv, ROTOR__CONTROL__PORT=str(port), ROTOR__CONTROL__TOKEN=TOKEN)
    assert down.returncode == 1 and "not reachable" in down.stderr


def test_entrypoint_command(image: Image) -> None:
    (entry,) = image.runtime.all("ENTRYPOINT")
    (cmd,) = image.runtime.all("CMD")
    argv = entry.exec_form()[2:] + cmd.exec_form()  # what tini execs: rotor run
    if " run " not in image.run(["rotor", "--help"]).stdout:
        pytest.skip("`rotor run` (the daemon, issue 7) is not registered yet")
    helped = image.run([*argv, "--help"])
    assert helped.returncode == 0 and "--mode" in helped.stdout
