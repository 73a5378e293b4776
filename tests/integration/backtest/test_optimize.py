"""``rotor optimize``: in-sample next to out-of-sample, and several workers on one study."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    assert "stitched out-of-sample, tuned" in stdout and "untuned" in stdout
    assert stderr.count("fold 1 trial ") == 3 and stderr.count("fold 2 trial ") == 3
    report = json.loads((out / "optimize.json").read_text())
    assert report["trials"] == 3 and len(report["folds"]) == 2
    f1, f2 = report["folds"]
    # Anchored walk-forward: both train from the start; the tests follow each other.
    assert f1["train"][0] == f2["train"][0] and f1["test"][1] == f2["test"][0]
    assert f1["train"][1] == f1["test"][0] and f2["train"][1] == f2["test"][0]
    for f in (f1, f2):
        best = f["best"]
        assert f["trials"] == 3 and best["out_of_sample_run"]["trades"] >= 0
        assert set(best["overrides"]) <= {
            "strategy.params.rsi_oversold",
            "strategy.params.adx_max",
            "strategy.params.exit_rsi",
            "strategy.params.time_stop_bars",
        }
    # The stitched out-of-sample result covers exactly the two test pieces, tuned and not.
    wf = report["walk_forward"]
    for key in ("tuned_out_of_sample", "untuned_out_of_sample"):
        assert _ms(wf[key]["start"]) == f1["test"][0] and _ms(wf[key]["end"]) == f2["test"][1]
    assert wf["tuned_out_of_sample"]["trades"] == sum(
        f["best"]["out_of_sample_run"]["trades"] for f in (f1, f2)
    )


def test_each_fold_is_chosen_on_its_own_train_window_only(synth_dir: Path, tmp_path: Path) -> None:
    """Fold 1's choice may not depend on fold 2's train window, which covers fold 1's test
    piece: the same search with the data cut after fold 1's test piece picks the same."""
    common = ("--preset", "rsi-reversion", "--trials", "4", "--from", "2024-01-13", "--seed", "3")
    full = tmp_path / "full"
    _wait(_optimize("--data", str(synth_dir), *common, "--folds", "2", "--out", str(full)))
    rep = json.loads((full / "optimize.json").read_text())
    f1 = rep["folds"][0]
    cut = tmp_path / "cut"
    end = datetime.fromtimestamp(f1["test"][1] / 1000, tz=UTC).isoformat()
    frac = (f1["train"][1] - f1["train"][0]) / (f1["test"][1] - f1["train"][0])
    _wait(
        _optimize("--data", str(synth_dir), *common, "--to", end, "--folds", "1",
                  "--train-frac", f"{frac:.6f}", "--out", str(cut))
    )  # fmt: skip
    alone = json.loads((cut / "optimize.json").read_text())["folds"][0]
    assert alone["train"] == f1["train"] and alone["test"] == f1["test"]
    assert alone["best"]["overrides"] == f1["best"]["overrides"]
    assert alone["best"]["out_of_sample_run"] == f1["best"]["out_of_sample_run"]


def test_a_trial_runs_its_train_window_only(
    synth_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test piece is run for the trials the report lists (each once), the chosen one and
    the untuned config, not for every trial: a trial is one backtest, not two."""
    from bot.backtest import optimize
    from bot.commands.backtest_cmd import batch_settings

    runs: list[int | None] = []
    real = optimize.run_prepared

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(kwargs.get("start_ms"))
        return real(*args, **kwargs)

    monkeypatch.setattr(optimize, "run_prepared", counted)
    trials = optimize.TOP + 2
    report = optimize.run_study(
        lambda o: batch_settings(None, "rsi-reversion", o, command="optimize"),
        "rsi-reversion", synth_dir, trials=trials, start_ms=_ms("2024-01-13T00:00:00Z"), seed=5,
    )  # fmt: skip
    (fold,) = report["folds"]
    train_start, test_start = fold["train"][0], fold["test"][0]
    assert runs.count(train_start) == trials
    # The listed trials' test pieces (the chosen one among them) and the untuned config's.
    assert runs.count(test_start) == optimize.TOP + 1
    assert len(report["top"]) == optimize.TOP
    assert all(t["out_of_sample"] is not None for t in report["top"])
    best = report["top"][0]
    assert best["number"] == fold["best"]["number"]
    assert best["out_of_sample"] == fold["best"]["out_of_sample"]


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


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
    assert all("in_sample" in t.user_attrs for t in done)
    # Each worker ran its own two trials and reported on the shared study.
    assert all(err.count("trial ") == 2 and "study shared" in out for out, err in outputs)
