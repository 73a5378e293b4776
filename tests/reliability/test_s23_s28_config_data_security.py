"""RELIABILITY.md #23 (bad config), #24 (corrupt data files) and the security scenarios #25-#28
(no secret in any output, live-mode confirmation and key/host pairing, the control API's bind
and auth, secrets from the environment or ``*_FILE`` paths)."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from bot.cli import app
from bot.config import ConfigError, ControlConfig, Settings, load_settings
from bot.runtime.control import ControlServer
from tests.integration.daemon.harness import (
    TOKEN,
    free_port,
    rotor_env,
    rotor_process,
    run_to_exit,
    step,
)
from tests.reliability.daemon_rig import START, running_daemon, trading_data
from tests.reliability.invariants import assert_no_secrets
from tests.simserver import DEFAULT_KEY, DEFAULT_SECRET, sim_server

SYMBOLS = json.dumps(["BTCUSDT", "ETHUSDT", "SOLUSDT"])


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No ROTOR_* variable from the outer shell may leak into these tests."""
    for name in list(os.environ):
        if name.startswith("ROTOR") and name not in ("ROTOR_TEST_PG_URL", "ROTOR_REQUIRE_PG"):
            monkeypatch.delenv(name)
    yield


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + result.stderr


# --------------------------------------------------------------------------- #23


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[risk]\nrisk_per_trde = 0.01\n", "risk.risk_per_trde: unknown key"),
        ('[risk]\nleverage = "ten"\n', "risk.leverage: Input should be a valid number"),
        ("[risk]\nrisk_per_trade = 0.5\n", "risk.risk_per_trade: Input should be less than"),
        (
            '[risk]\nleverage = 50\non_unsafe_leverage = "reject"\n',
            "risk.on_unsafe_leverage: 'reject' with risk.min_liquidation_distance 0.12 needs",
        ),
    ],
    ids=["misspelled-key", "wrong-type", "risk-per-trade-0.5", "unsafe-leverage-stop"],
)
def test_s23_bad_config_fails_startup_naming_key_and_reason(
    tmp_path: Path, toml: str, expected: str
) -> None:
    cfg = tmp_path / "rotor.toml"
    cfg.write_text(toml)
    code, out = cli("run", "--config", str(cfg), "--db", f"sqlite+aiosqlite:///{tmp_path}/r.db")
    assert code == 2, out
    assert expected in out, out


# --------------------------------------------------------------------------- #24


def test_s24_corrupt_or_partial_data_files_name_the_file(tmp_path: Path) -> None:
    data = trading_data(tmp_path / "truncated", bars=300)
    victim = data / "ohlcv" / "ETHUSDT.parquet"
    victim.write_bytes(victim.read_bytes()[:200])
    code, out = cli(
        "run",
        "--mode",
        "replay",
        "--data",
        str(data),
        "--db",
        f"sqlite+aiosqlite:///{tmp_path}/a.db",
    )
    assert code == 2, out
    assert str(victim) in out and "corrupt or unreadable parquet" in out, out
    # Named before any work: no database created, no lease taken, no port bound.
    assert not (tmp_path / "a.db").exists()

    data = trading_data(tmp_path / "columns", bars=300)
    import pyarrow as pa
    import pyarrow.parquet as pq

    victim = data / "ohlcv" / "SOLUSDT.parquet"
    table = pq.read_table(victim).drop_columns(["high", "low"])
    pq.write_table(pa.table(table.to_pydict()), victim)
    code, out = cli(
        "run",
        "--mode",
        "replay",
        "--data",
        str(data),
        "--db",
        f"sqlite+aiosqlite:///{tmp_path}/b.db",
    )
    assert code == 2, out
    assert str(victim) in out and "missing column(s): high, low" in out, out
    assert not (tmp_path / "b.db").exists()


# --------------------------------------------------------------------------- #25, #28


async def test_s25_s28_no_secret_in_any_output(tmp_path: Path, db_url: str) -> None:
    """Keys, secret and token from ``*_FILE`` paths (Docker secrets), a database password in
    the URL; a refused start whose venue error echoes the API key; a running daemon's logs,
    /status, /metrics and config dumps: none of it shows a secret."""
    token = TOKEN  # the harness's control client presents this one
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    for name, value in (("key", DEFAULT_KEY), ("secret", DEFAULT_SECRET), ("token", token)):
        (secrets_dir / name).write_text(value + "\n")
    (secrets_dir / "wrong").write_text("not-the-secret-1234\n")
    password = "db-pass-0f1e2d3c"
    url = (
        make_url(db_url).set(password=password).render_as_string(hide_password=False)
        if db_url.startswith("postgresql")
        else db_url
    )
    secret_values = [DEFAULT_KEY, DEFAULT_SECRET, token, "not-the-secret-1234", password]
    captured: dict[str, str] = {}
    files = {
        "ROTOR__EXCHANGE__API_KEY_FILE": str(secrets_dir / "key"),
        "ROTOR__EXCHANGE__API_SECRET_FILE": str(secrets_dir / "secret"),
        "ROTOR__CONTROL__TOKEN_FILE": str(secrets_dir / "token"),
        "ROTOR__UNIVERSE__SYMBOLS": SYMBOLS,
    }
    async with sim_server(trading_data(tmp_path / "d"), start_ms=START) as sim:
        # A wrong secret: Bybit's refusal quotes the signed string, API key included.
        env = rotor_env(sim.url, url, free_port(), files)  # the *_FILE ones replace the plain
        assert not {"ROTOR__EXCHANGE__API_KEY", "ROTOR__CONTROL__TOKEN"} & set(env)
        bad = dict(env, ROTOR__EXCHANGE__API_SECRET_FILE=str(secrets_dir / "wrong"))
        code, out, err = await run_to_exit(bad)
        assert code == 4, err
        assert "AuthenticationError" in err and "***" in err
        captured["refused start stdout"] = out
        captured["refused start stderr"] = err

        # A healthy run with the secrets from files (the harness's plain variables removed).
        log = tmp_path / "rotor.log"
        async with rotor_process(sim, url, log, files) as rotor:
            await rotor.wait_for(lambda s: s.get("phase") == "running", 60, "running")
            await step(sim, rotor, 3)
            async with aiohttp.ClientSession() as session:
                headers = {"Authorization": f"Bearer {token}"}
                async with session.get(rotor.url + "/status", headers=headers) as r:
                    assert r.status == 200, "the token came from its file"
                    captured["/status"] = await r.text()
                async with session.get(rotor.url + "/metrics") as r:
                    captured["/metrics"] = await r.text()
                async with session.get(rotor.url + "/readyz") as r:
                    captured["/readyz"] = await r.text()
        captured["daemon log"] = log.read_text()
    # Config dumps and reprs of the same configuration.
    environ = {k: v for k, v in files.items()} | {"ROTOR__DATABASE__URL": url}
    settings = load_settings(
        None, {"mode": "testnet", "exchange.api_url": "http://127.0.0.1:1"}, environ
    )
    assert settings.exchange.api_key is not None
    assert settings.exchange.api_key.get_secret_value() == DEFAULT_KEY, "read from the _FILE path"
    assert settings.control.token is not None and settings.control.token.get_secret_value() == token
    captured["repr(settings)"] = repr(settings) + str(settings)
    captured["masked_dump"] = json.dumps(settings.masked_dump())
    _code, out = cli("config", "check", env=environ)
    captured["rotor config check"] = out
    assert_no_secrets(captured, secret_values)


def test_s28_secrets_come_from_env_or_files_not_only_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "rotor.toml"
    cfg.write_text('[exchange]\napi_key = "from-the-file-0001"\n')
    token = tmp_path / "token"
    token.write_text("tok-from-file-0002\n")
    s = load_settings(
        cfg,
        environ={
            "ROTOR__EXCHANGE__API_KEY": "from-the-env-0003",
            "ROTOR__EXCHANGE__API_SECRET_FILE": str(token),
            "ROTOR__CONTROL__TOKEN_FILE": str(token),
        },
    )
    assert s.exchange.api_key is not None and s.exchange.api_secret is not None
    assert s.exchange.api_key.get_secret_value() == "from-the-env-0003", "env beats the file"
    assert s.exchange.api_secret.get_secret_value() == "tok-from-file-0002"
    with pytest.raises(ConfigError, match=r"exchange\.api_secret_file: cannot read secret file"):
        load_settings(environ={"ROTOR__EXCHANGE__API_SECRET_FILE": str(tmp_path / "missing")})


# --------------------------------------------------------------------------- #26


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--mode", "live"], {}, "pass --live AND set ROTOR_LIVE_CONFIRM=yes"),
        (["--mode", "live", "--live"], {}, "pass --live AND set ROTOR_LIVE_CONFIRM=yes"),
        (
            ["--mode", "live", "--live", "--api-url", "https://api-testnet.bybit.com"],
            {"ROTOR_LIVE_CONFIRM": "yes"},
            "live keys are only sent to the exchange's mainnet host",
        ),
        (
            ["--mode", "testnet", "--api-url", "https://api.bybit.com"],
            {},
            "testnet keys are never sent to mainnet",
        ),
    ],
    ids=["no-flag", "no-env", "live-keys-to-testnet", "testnet-keys-to-mainnet"],
)
def test_s26_live_needs_confirmation_and_keys_stay_on_their_host(
    tmp_path: Path, args: list[str], env: dict[str, str], expected: str
) -> None:
    keys = {"ROTOR__EXCHANGE__API_KEY": "k-12345678", "ROTOR__EXCHANGE__API_SECRET": "s-12345678"}
    code, out = cli("run", *args, "--db", f"sqlite+aiosqlite:///{tmp_path}/r.db", env=keys | env)
    assert code == 2, out
    assert expected in out, out
    assert not (tmp_path / "r.db").exists(), "refused before touching anything"


# --------------------------------------------------------------------------- #27


async def test_s27_control_api_binds_loopback_and_rejects_unauthenticated(
    tmp_path: Path,
) -> None:
    assert Settings().control.host == "127.0.0.1"
    with pytest.raises(
        ConfigError, match=r"control\.host: binding to 0\.0\.0\.0 needs control\.token"
    ):
        load_settings(environ={"ROTOR__CONTROL__HOST": "0.0.0.0"})
    with pytest.raises(ValueError, match=r"non-loopback bind needs control\.token"):
        ControlServer(ControlConfig(host="0.0.0.0"), None, None)  # type: ignore[arg-type]
    assert "compare_digest" in inspect.getsource(ControlServer._auth), "constant-time compare"
    token = "ctl-27-9a8b7c6d"
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    async with (
        sim_server(trading_data(tmp_path / "d"), start_ms=START) as sim,
        running_daemon(
            sim, url, **{"control.enabled": True, "control.port": 0, "control.token": token}
        ) as d,
    ):
        assert d.control is not None
        host, port = d.control._runner.addresses[0][:2]  # type: ignore[union-attr]
        assert host == "127.0.0.1"
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as s:
            async with s.get(base + "/healthz") as r:
                assert r.status == 200
            for method, path in (
                ("GET", "/status"),
                ("POST", "/pause"),
                ("POST", "/resume"),
                ("POST", "/kill"),
            ):
                for headers in (
                    {},
                    {"Authorization": "Bearer wrong"},
                    {"Authorization": token},
                ):
                    async with s.request(method, base + path, headers=headers) as r:
                        assert r.status == 401, (method, path, headers)
            async with s.get(base + "/status", headers={"Authorization": f"Bearer {token}"}) as r:
                assert r.status == 200
                assert (await r.json())["state"] == "ACTIVE", "no unauthenticated command ran"
