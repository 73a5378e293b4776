"""Alerts that reach a person: real apprise over real HTTP to a local receiver, through the real
logging chain; a hanging receiver never holds up the logging call; the real `rotor run`
against `rotor sim serve` alerts within 5 s of SIGUSR2."""

from __future__ import annotations

import io
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import load_settings
from bot.config.models import AlertsConfig
from bot.observability.alerts import ALERTS, AlertDispatcher, needs_operator
from bot.observability.logging import configure_logging, get_logger
from bot.observability.metrics import Metrics
from tests.alertreceiver import Receiver, alert_receiver

SECRET = "hook-pass-5e3c"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The log stream; the dispatcher is stopped and reset afterwards."""
    out = io.StringIO()
    yield out
    ALERTS.reset()


def configure(receiver: Receiver, out: io.StringIO, **cfg: object) -> None:
    settings = load_settings(
        None, environ={"ROTOR__ALERTS__URLS": receiver.url(SECRET)}, overrides=cfg or None
    )
    configure_logging("INFO", "json", settings.secrets(), stream=out, alerts=settings.alerts)


def test_the_rule_for_what_reaches_a_person() -> None:
    assert needs_operator({"event": "storage_unavailable", "alert": True})
    assert needs_operator({"event": "trading_state", "new": "HALTED"})
    assert needs_operator({"event": "trading_state", "new": "REDUCING"})
    assert not needs_operator({"event": "trading_state", "new": "ACTIVE"})
    assert not needs_operator({"event": "tickers_stale", "alert": False})
    assert not needs_operator({"event": "cycle_done"})


def test_alert_events_reach_the_receiver_and_secrets_stay_out(logs: io.StringIO) -> None:
    with alert_receiver() as receiver:
        configure(receiver, logs)
        log = get_logger("rotor.test")
        log.info("cycle_done", equity="1000")  # not an alert
        log.error("storage_unavailable", error="OperationalError: gone", alert=True)
        log.warning("trading_state", old="ACTIVE", new="HALTED", reason="KILL: operator")
        got = receiver.wait(2)
    titles = sorted(m["title"].split(": ", 1)[1] for m in got)  # "rotor MODE: EVENT"
    assert len(got) == 2, got
    assert titles == ["storage_unavailable", "trading_state"]
    halted = next(m for m in got if "trading_state" in m["title"])
    assert "new: HALTED" in halted["message"] and "KILL: operator" in halted["message"]
    assert {m["type"] for m in got} == {"failure", "warning"}
    assert ALERTS.sent == 2
    assert SECRET not in logs.getvalue() and receiver.url(SECRET) not in logs.getvalue()


def test_config_masks_the_urls_and_reads_them_from_a_file(tmp_path: Path) -> None:
    urls = tmp_path / "alert_urls"
    urls.write_text(f"json://rotor:{SECRET}@127.0.0.1:9/a\nntfy://ntfy.example/topic\n")
    settings = load_settings(None, environ={"ROTOR__ALERTS__URLS_FILE": str(urls)})
    assert [u.get_secret_value() for u in settings.alerts.urls][1] == "ntfy://ntfy.example/topic"
    assert SECRET not in str(settings.masked_dump()) and SECRET not in repr(settings)
    assert any(SECRET in s for s in settings.secrets()), "the redactor knows the URLs"


def test_a_hanging_receiver_never_blocks_logging_and_drops_are_counted(
    logs: io.StringIO,
) -> None:
    with alert_receiver(hang=True) as receiver:
        configure(receiver, logs, **{"alerts.queue_size": 2, "alerts.timeout_s": 1.0})
        log = get_logger("rotor.test")
        for i in range(10):
            log.error("kill_switch_attempt_failed", attempt=i, alert=True)
        # One in the sender (hanging), two queued, the rest dropped at once: queue full.
        assert ALERTS.dropped["queue_full"] >= 6, ALERTS.dropped
        exposition = Metrics().render().decode()
        dropped = re.search(r'rotor_alerts_dropped_total\{reason="queue_full"\} (\d+)', exposition)
        assert dropped is not None and int(float(dropped.group(1))) >= 6
        deadline = time.monotonic() + 10
        while ALERTS.dropped["send_failed"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ALERTS.dropped["send_failed"] >= 1, "the timeout ends a hanging send"
    assert SECRET not in logs.getvalue()


def test_rate_limit_drops_and_counts(logs: io.StringIO) -> None:
    with alert_receiver() as receiver:
        configure(receiver, logs, **{"alerts.max_per_minute": 2})
        log = get_logger("rotor.test")
        for i in range(5):
            log.error("venue_fatal", n=i, alert=True)
        got = receiver.wait(2)
        time.sleep(0.3)
    assert len(got) == 2 and len(receiver.received) == 2
    assert ALERTS.dropped["rate_limited"] == 3


def test_daily_summary_from_the_day_s_events() -> None:
    now = [1_780_000_000.0]  # 2026-05-28 20:26:40 UTC
    dispatcher = AlertDispatcher(clock=lambda: now[0])
    with alert_receiver() as receiver:
        dispatcher.configure(AlertsConfig(urls=[SecretStr(receiver.url())], daily_summary_hour=21))
        try:
            for equity, entries in (("10000.00", ["SOLUSDT"]), ("10012.50", [])):
                event = {"event": "cycle_done", "mode": "testnet", "state": "ACTIVE"}
                dispatcher(None, "info", {**event, "equity": equity, "entries": entries})
            dispatcher(None, "info", {"event": "fill_applied", "mode": "testnet"})
            dispatcher(None, "error", {"event": "venue_fatal", "alert": True, "mode": "testnet"})
            now[0] += 3600  # past 21:00 UTC
            (summary,) = receiver.wait(1, match="daily summary")
        finally:
            dispatcher.close()
    assert summary["title"] == "rotor testnet: daily summary"
    body = summary["message"]
    assert "equity: 10012.50 (24 h ago: 10000.00)" in body
    assert "cycles: 2, entries: 1, exits: 0, fills: 1" in body
    assert "alerts: venue_fatal 1" in body and "to 2026-05-28 21:00 UTC" in body


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_rotor_run_alerts_within_5s_of_sigusr2(tmp_path: Path) -> None:
    """The real daemon against the simulator, alerts from a file secret, SIGUSR2."""
    from tests.reliability.procs import daemon, process_data, sim_process

    urls = tmp_path / "alert_urls"
    log = tmp_path / "rotor.log"
    with alert_receiver() as receiver:
        urls.write_text(receiver.url(SECRET) + "\n")
        async with sim_process(process_data(tmp_path / "data")) as sim:
            db_url = f"sqlite+aiosqlite:///{tmp_path / 'rotor.db'}"
            extra = {"ROTOR__ALERTS__URLS_FILE": str(urls)}
            async with daemon(sim, db_url, log, extra) as rotor:
                sent = time.monotonic()
                rotor.signal(signal.SIGUSR2)
                got = receiver.wait(1, limit_s=5.0, match="KILL")
                assert got, f"no kill-switch alert within 5 s:\n{rotor.tail()}"
                first = next(t for t, m in receiver.received if m is got[0])
                await rotor.wait_for(lambda s: s["state"] == "HALTED", 60, "HALTED")
                halted = receiver.wait(1, limit_s=10.0, match="new: HALTED")
                rotor.signal(signal.SIGTERM)
                assert await rotor.wait_exit(30) == 0
    print(f"kill-switch alert delivered {first - sent:.3f} s after SIGUSR2")
    assert halted, "the HALTED state reaches the operator too"
    text = log.read_text()
    assert SECRET not in text and receiver.url(SECRET) not in text
