"""Config: precedence, validation messages naming key paths, secrets from env and *_FILE."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

ROTOR = [sys.executable, "-m", "bot.cli"]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "rotor.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_are_valid() -> None:
    s = load_settings(environ={})
    assert s.mode == "replay"
    assert s.risk.risk_per_trade == 0.02
    assert s.database.url.startswith("sqlite+aiosqlite:///")
    assert s.control.host == "127.0.0.1"


def test_misspelled_key_is_named(tmp_path: Path) -> None:
    f = write(tmp_path, "[risk]\nrisk_per_trde = 0.01\n")
    with pytest.raises(ConfigError) as info:
        load_settings(f, environ={})
    assert "risk.risk_per_trde: unknown key" in info.value.errors
    assert str(f) in str(info.value)


def test_out_of_bounds_and_wrong_type(tmp_path: Path) -> None:
    f = write(tmp_path, '[risk]\nrisk_per_trade = 0.5\nleverage = "ten"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(f, environ={})
    joined = "\n".join(info.value.errors)
    assert "risk.risk_per_trade" in joined and "0.05" in joined
    assert "risk.leverage" in joined


def test_unknown_section(tmp_path: Path) -> None:
    f = write(tmp_path, "[riks]\nleverage = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(f, environ={})
    assert "riks: unknown key" in info.value.errors


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    f = write(tmp_path, "[risk\n")
    with pytest.raises(ConfigError) as info:
        load_settings(f, environ={})
    assert str(f) in str(info.value)


def test_precedence_defaults_file_env_cli(tmp_path: Path) -> None:
    f = write(tmp_path, "[risk]\nleverage = 5\nmax_open_positions = 3\n")
    env = {"ROTOR__RISK__LEVERAGE": "4", "ROTOR__EXCHANGE__NAME": "binanceusdm"}
    s = load_settings(f, environ=env)
    assert s.risk.leverage == 4  # env beats file
    assert s.risk.max_open_positions == 3  # file beats default
    assert s.exchange.name == "binanceusdm"
    s2 = load_settings(f, overrides={"risk.leverage": 2}, environ=env)
    assert s2.risk.leverage == 2  # CLI beats env


def test_config_path_from_env(tmp_path: Path) -> None:
    f = write(tmp_path, 'mode = "paper"\n')
    assert load_settings(environ={"ROTOR_CONFIG": str(f)}).mode == "paper"


def test_env_error_names_key() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"ROTOR__RISK__RISK_PER_TRDE": "0.01"})
    assert "risk.risk_per_trde: unknown key" in info.value.errors


def test_secrets_from_env_and_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cr3t-from-file\n", encoding="utf-8")
    env = {
        "ROTOR__EXCHANGE__API_KEY": "key-from-env-123",
        "ROTOR__EXCHANGE__API_SECRET_FILE": str(secret_file),
        "ROTOR__CONTROL__TOKEN": "tok-abcdef",
    }
    s = load_settings(environ=env)
    assert s.exchange.api_key is not None
    assert s.exchange.api_key.get_secret_value() == "key-from-env-123"
    assert s.exchange.api_secret is not None
    assert s.exchange.api_secret.get_secret_value() == "s3cr3t-from-file"
    text = repr(s) + str(s) + str(s.masked_dump())
    for value in ("key-from-env-123", "s3cr3t-from-file", "tok-abcdef"):
        assert value not in text
    assert set(s.secrets()) == {"key-from-env-123", "s3cr3t-from-file", "tok-abcdef"}


def test_missing_secret_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"ROTOR__EXCHANGE__API_KEY_FILE": str(missing)})
    assert "exchange.api_key" in str(info.value) and str(missing) in str(info.value)


def test_database_password_masked() -> None:
    s = Settings.model_validate({"database": {"url": "postgresql+asyncpg://u:hunter22@db/x"}})
    assert "hunter22" not in str(s.masked_dump())
    assert "hunter22" in s.secrets()


def test_control_off_loopback_needs_token() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(overrides={"control.host": "0.0.0.0"}, environ={})
    assert "control.host" in str(info.value) and "token" in str(info.value)
    ok = load_settings(overrides={"control.host": "0.0.0.0", "control.token": "t0k3n"}, environ={})
    assert ok.control.host == "0.0.0.0"


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ROTOR, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_cli_config_check_rejects_typo(tmp_path: Path) -> None:
    f = write(tmp_path, "[risk]\nrisk_per_trde = 0.01\n")
    res = run_cli("config", "check", "--config", str(f))
    assert res.returncode == 2
    assert "risk.risk_per_trde" in res.stderr


def test_cli_config_check_refuses_big_risk(tmp_path: Path) -> None:
    f = write(tmp_path, "[risk]\nrisk_per_trade = 0.5\n")
    res = run_cli("config", "check", "--config", str(f))
    assert res.returncode == 2
    assert "risk.risk_per_trade" in res.stderr


def test_cli_config_check_masks_secrets(tmp_path: Path) -> None:
    import json
    import os

    f = write(tmp_path, '[exchange]\nname = "bybit"\n')
    env = {**os.environ, "ROTOR__EXCHANGE__API_SECRET": "very-secret-value-9"}
    res = run_cli("config", "check", "--config", str(f), env=env)
    assert res.returncode == 0, res.stderr
    assert "very-secret-value-9" not in res.stdout + res.stderr
    data = json.loads(res.stdout)
    assert data["exchange"]["api_secret"] == "**********"


def test_env_key_that_ends_in_file_is_a_plain_setting(tmp_path: Path) -> None:
    kill = tmp_path / "KILL"
    s = load_settings(environ={"ROTOR__EXECUTION__KILL_FILE": str(kill)})
    assert s.execution.kill_file == kill


def test_key_given_directly_and_as_file_is_an_error_naming_both(tmp_path: Path) -> None:
    url_file = tmp_path / "database_url"
    url_file.write_text("postgresql+asyncpg://rotor:pw@postgres:5432/rotor")
    env = {
        "ROTOR__DATABASE__URL": "sqlite+aiosqlite:////var/lib/rotor/rotor.db",
        "ROTOR__DATABASE__URL_FILE": str(url_file),
    }
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env)
    message = str(info.value)
    assert "database.url" in message
    assert "ROTOR__DATABASE__URL " in message and "ROTOR__DATABASE__URL_FILE" in message
    assert "pw" not in message, "the secret's value is never echoed"
    # Either one alone is fine, and the file wins over the TOML file (env beats file).
    toml = tmp_path / "rotor.toml"
    toml.write_text('[database]\nurl = "sqlite+aiosqlite:///x.db"\n')
    alone = load_settings(toml, environ={"ROTOR__DATABASE__URL_FILE": str(url_file)})
    assert alone.database.url.startswith("postgresql+asyncpg://")
