"""Logging: JSON lines off a TTY with timestamp/level/event/run_id/mode; secrets never printed."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest

from bot.observability.logging import REDACTOR, configure_logging, get_logger, set_context

SECRETS = ["apikey-AAAA1111", "secret-BBBB2222", "token-CCCC3333"]


@pytest.fixture(autouse=True)
def _reset() -> None:
    REDACTOR.clear()


def lines(buf: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(x) for x in buf.getvalue().splitlines() if x.strip()]


def test_json_lines_carry_required_fields() -> None:
    buf = io.StringIO()
    configure_logging("DEBUG", "auto", stream=buf)  # StringIO is not a TTY → JSON
    set_context(run_id="run-42", mode="replay")
    get_logger("t").info("cycle_done", bars=3)
    logging.getLogger("ccxt.base").warning("from ccxt %s", "lib")
    out = lines(buf)
    assert len(out) == 2
    for rec in out:
        assert {"timestamp", "level", "event", "run_id", "mode"} <= rec.keys()
        assert rec["run_id"] == "run-42" and rec["mode"] == "replay"
        assert str(rec["timestamp"]).endswith("Z") or "+00:00" in str(rec["timestamp"])
    assert out[0]["event"] == "cycle_done" and out[0]["bars"] == 3
    assert out[1]["event"] == "from ccxt lib" and out[1]["level"] == "warning"


def test_secrets_redacted_everywhere() -> None:
    buf = io.StringIO()
    configure_logging("DEBUG", "json", secrets=SECRETS, stream=buf)
    log = get_logger("t")
    log.info("plain", detail=f"key={SECRETS[0]}")
    log.info("nested", payload={"headers": {"X-Thing": SECRETS[1]}, "list": [SECRETS[2]]})
    log.info("by_key", api_key="not-registered-but-sensitive")
    try:
        raise RuntimeError(f"auth failed with {SECRETS[1]}")
    except RuntimeError:
        log.exception("boom")
    logging.getLogger("aiohttp.client").error("sent header %s", SECRETS[2])
    text = buf.getvalue()
    for s in SECRETS:
        assert s not in text
    assert "not-registered-but-sensitive" not in text
    assert text.count("***") >= 5
    assert all(isinstance(r, dict) for r in lines(buf))


def test_every_line_is_json_in_subprocess() -> None:
    code = (
        "from bot.observability.logging import configure_logging, get_logger, set_context\n"
        "import logging\n"
        f"configure_logging('INFO', 'auto', secrets={SECRETS!r})\n"
        "set_context(run_id='r1', mode='paper')\n"
        "log = get_logger('x')\n"
        "for i in range(5): log.info('tick', i=i, note='uses " + SECRETS[0] + "')\n"
        "logging.getLogger('sqlalchemy.engine').warning('sql warn')\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    out = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(out) == 6
    assert SECRETS[0] not in res.stdout + res.stderr
