"""``rotor optimize``: in-sample next to out-of-sample, and several workers on one study."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import ROOT, pg_url_or_skip
from tests.dbfixtures import _pg_admin

optuna = pytest.importorskip("optuna")


def _optimize(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "optimize", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(p: subprocess.Popen[str], timeout: float = 240) -> tuple[str, str]:
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err
    return out, err


def test_optimize_reports_in_and_out_of_sample(synth_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "opt"
    stdout, stderr = _wait(
        _optimize(
            "--data", str(synth_dir), "--preset", "rsi-reversion", "--trials", "3",
            "--from", "2024-01-13", "--folds", "2", "--seed", "1", "--out", str(out),
        )
    )  # fmt: skip
    assert "in-sample sharpe" in stdout and "out-of-sample sharpe" in stdout
    assert stderr.count("trial ") == 3
    report = json.loads((out / "optimize.json").read_text())
    assert report["trials"] == 3 and len(report["folds"]) == 2
    f1, f2 = report["folds"]
    # Anchored walk-forward: both train from the start; the tests follow each other.
    assert f1["train"][0] == f2["train"][0] and f1["test"][1] == f2["test"][0]
    assert f1["train"][1] == f1["test"][0]
    best = report["best"]
    assert len(best["in_sample_runs"]) == 2 and len(best["out_of_sample_runs"]) == 2
    assert set(best["overrides"]) <= {
        "strategy.params.rsi_oversold",
        "strategy.params.adx_max",
        "strategy.params.exit_rsi",
        "strategy.params.time_stop_bars",
    }


@pytest.fixture
def pg_study_url() -> Iterator[str]:
    """A fresh PostgreSQL database for an Optuna study (sync psycopg2 URL), dropped after."""
    pytest.importorskip("psycopg2")
    server = pg_url_or_skip()
    name = f"rotor_opt_{secrets.token_hex(5)}"

    async def admin(sql: str) -> None:
        conn = await _pg_admin(server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            make_url(server)
            .set(drivername="postgresql+psycopg2", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_two_workers_share_one_study_in_postgres(synth_dir: Path, pg_study_url: str) -> None:
    common = (
        "--data", str(synth_dir), "--preset", "rsi-reversion", "--trials", "2",
        "--from", "2024-01-13", "--storage", pg_study_url, "--study", "shared",
    )  # fmt: skip
    # The first worker creates the study; the second joins it while the first still runs.
    workers = [_optimize(*common, "--seed", "1"), _optimize(*common, "--seed", "2")]
    outputs = [_wait(w) for w in workers]
    study = optuna.load_study(study_name="shared", storage=pg_study_url)
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 4
    assert all("oos_value" in t.user_attrs for t in done)
    # Each worker ran its own two trials and reported on the shared study.
    assert all(err.count("trial ") == 2 and "study shared" in out for out, err in outputs)
