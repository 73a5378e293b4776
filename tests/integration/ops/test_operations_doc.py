"""docs/operations.md stays true: its commands and options exist (or are marked planned), it
explains every metric and alert, and its SQLite backup command really backs up a WAL database."""

from __future__ import annotations

import re
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.observability.metrics import Metrics

from .deployfiles import DEPLOY, ROOT, load_yaml

DOC = ROOT / "docs" / "operations.md"
# Commands the guide may describe before they exist; it must say "planned" for them.
PLANNED = {"run"}
# Where a word is run as a command: line start, after && ; | $( sudo VAR=value, or as the
# arguments given to the image's entrypoint (`docker compose run --rm rotor CMD`,
# `docker exec rotor rotor CMD`).
COMMAND_POSITION = re.compile(
    r"(^|&&|;|\||\$\(|\bsudo|\b\w+=\S+|\brun(\s+--?[a-z-]+)*\s+rotor|\bexec\s+rotor)\s*$"
)


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def code_lines() -> list[str]:
    """Shell lines inside fenced ``bash`` code blocks, with backslash continuations joined."""
    lines: list[str] = []
    fence: str | None = None
    for raw in doc().splitlines():
        stripped = raw.strip()
        if stripped.startswith("```"):
            fence = None if fence is not None else (stripped[3:] or "bash")
            continue
        if fence == "bash":
            lines.append(stripped)
    joined = "\n".join(lines).replace("\\\n", " ")
    out = [line.split("  #", 1)[0].strip() for line in joined.splitlines()]
    return [line for line in out if line]


def invocations() -> list[tuple[list[str], list[str]]]:
    """Each ``rotor CMD [SUB] --opts`` in the code blocks: (command path, options)."""
    top = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    found: list[tuple[list[str], list[str]]] = []
    inline = [span for span in re.findall(r"`([^`\n]+)`", doc()) if "rotor " in span]
    for line in code_lines() + inline:
        for match in re.finditer(r"(?:^|[\s;&|(])(?:/\S*/)?rotor\s+([a-z][a-z-]*)([^;&|)]*)", line):
            before = re.sub(r"(?:/\S*/)?rotor\s+$", "", line[: match.start(1)])
            if not COMMAND_POSITION.search(before):
                continue  # `rotor` is a user, container or service name here
            first = match.group(1)
            words = match.group(2).split()
            if first not in top and first not in PLANNED:
                pytest.fail(f"docs use `rotor {first}`, which is not a rotor command: {line}")
            path: list[str] = [str(first)]
            if (
                words
                and re.fullmatch(r"[a-z]+", words[0])
                and first in {g.name for g in app.registered_groups}
            ):
                path.append(str(words[0]))
            options = [w.split("=")[0] for w in words if w.startswith("--")]
            found.append((path, options))
    return found


def test_every_documented_command_and_option_exists() -> None:
    seen = invocations()
    assert len(seen) >= 15
    runner = CliRunner()
    registered = {c.name for c in app.registered_commands}
    for path, options in seen:
        if path[0] in PLANNED and path[0] not in registered:
            continue
        result = runner.invoke(app, [*path, "--help"], terminal_width=200)
        assert result.exit_code == 0, f"rotor {' '.join(path)}: {result.output}"
        for option in options:
            assert option in result.output, f"rotor {' '.join(path)} has no {option}"


def test_planned_commands_are_marked() -> None:
    registered = {c.name for c in app.registered_commands}
    text = doc()
    for name in PLANNED - registered:
        assert f"`rotor {name}`" in text and "planned" in text
        for line in text.splitlines():
            # A prose line naming the daemon as the thing to run says it is planned.
            if f"runs `rotor {name} " in line:
                assert "planned" in line, line


def test_every_metric_is_explained() -> None:
    text = doc()
    families = set(re.findall(r"^# TYPE (\S+) ", Metrics().render().decode(), flags=re.MULTILINE))
    families = {f for f in families if not f.endswith("_created")}
    rows = set(re.findall(r"^\| `(rotor_[a-z_]+)` \|", text, flags=re.MULTILINE))
    assert rows == families, (sorted(families - rows), sorted(rows - families))
    suffixes = ("_bucket", "_sum", "_count")
    mentioned = set(re.findall(r"\brotor_[a-z_]*[a-z]\b(?!-)", text))
    bogus = {m for m in mentioned if m not in families and not m.endswith(suffixes)}
    assert not bogus, f"docs mention metrics that do not exist: {bogus}"


def test_every_alert_is_explained() -> None:
    alerts = load_yaml(DEPLOY / "prometheus" / "alerts.yml")
    names = {rule["alert"] for group in alerts["groups"] for rule in group["rules"]}
    rows = set(re.findall(r"^\| `(Rotor[A-Za-z]+)` \|", doc(), flags=re.MULTILINE))
    assert rows == names


def test_documented_sqlite_backup_copies_uncheckpointed_wal_data(tmp_path: Path) -> None:
    (line,) = [ln for ln in code_lines() if ln.startswith("docker exec rotor python -c")]
    argv = shlex.split(line)[3:]  # python -c CODE, as run inside the container
    assert argv[:2] == ["python", "-c"]
    code = argv[2].replace("/var/lib/rotor", tmp_path.as_posix())
    db = tmp_path / "var" / "rotor.db"  # the image's default database, in its volume
    db.parent.mkdir()
    live = sqlite3.connect(db)
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("PRAGMA wal_autocheckpoint=0")  # keep the rows only in rotor.db-wal
    live.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, client_id TEXT)")
    live.executemany(
        "INSERT INTO orders (client_id) VALUES (?)", [(f"rtr-{i}",) for i in range(500)]
    )
    live.commit()
    assert (tmp_path / "var" / "rotor.db-wal").stat().st_size > 0
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    live.execute("INSERT INTO orders (client_id) VALUES ('after-backup')")
    live.commit()
    backup = sqlite3.connect(tmp_path / "backup.db")
    assert backup.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert backup.execute("SELECT count(*) FROM orders").fetchone() == (500,)
    backup.close()
    live.close()
