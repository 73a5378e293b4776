"""Readers for the deploy artefacts (Dockerfile, .dockerignore, PromQL, systemd units, env files)
and the set of metric series rotor really exposes. Used by the ops tests only."""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from bot.observability.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"

# --------------------------------------------------------------------------- Dockerfile


@dataclass
class Instruction:
    """One Dockerfile instruction with its (continuation-joined) argument text."""

    line: int
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form ENTRYPOINT/CMD/HEALTHCHECK CMD (error if shell form)."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = text.split(" CMD ", 1)[1] if " CMD " in f" {text}" else ""
            text = text.strip()
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value


@dataclass
class Stage:
    """A build stage: its FROM image, alias and instructions."""

    image: str
    alias: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self, global_args: dict[str, str]) -> dict[str, str]:
        """ENV values of this stage, with ``${VAR}`` expanded from ARGs and earlier ENVs."""
        values = dict(global_args)
        for arg in self.all("ARG"):
            name, _, default = arg.args.partition("=")
            values[name.strip()] = default.strip()
        env: dict[str, str] = {}
        for instr in self.all("ENV"):
            for name, value in re.findall(r'(\w+)=("[^"]*"|\S+)', instr.args):
                expanded = substitute(value.strip('"'), {**values, **env})
                env[name] = expanded
        return env


def substitute(text: str, values: dict[str, str]) -> str:
    """Expand ``${NAME}``/``$NAME`` the way Dockerfile variable substitution does (no modifiers)."""

    def repl(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, text)


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs (before the first FROM) and the stages."""
    logical: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continuation are dropped by Docker too
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        logical.append((start, buffer + stripped))
        buffer = ""
    assert not buffer, f"{path}: dangling line continuation"
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, text in logical:
        keyword, _, args = text.partition(" ")
        instr = Instruction(number, keyword.upper(), args.strip())
        if instr.keyword == "FROM":
            parts = instr.args.split()
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(substitute(parts[0], global_args), alias))
        elif not stages:
            assert instr.keyword == "ARG", f"{path}:{number}: only ARG may precede FROM"
            name, _, default = instr.args.partition("=")
            global_args[name.strip()] = default.strip()
        else:
            stages[-1].instructions.append(instr)
    return global_args, stages


# --------------------------------------------------------------------------- .dockerignore


def dockerignore_patterns(path: Path) -> list[str]:
    """Patterns from a .dockerignore (comments and blanks dropped; negation unsupported)."""
    patterns = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assert not line.startswith("!"), "negated .dockerignore patterns are not used here"
        patterns.append(line.strip("/"))
    return patterns


def is_ignored(rel: str, patterns: list[str]) -> bool:
    """Whether ``rel`` (a POSIX path relative to the context) or one of its parents matches."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(
                prefix.rsplit("/", 1)[-1], pattern[3:]
            ):
                return True
    return False


# --------------------------------------------------------------------------- PromQL

_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}


def promql_metrics(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (functions, labels and keywords dropped)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"(?<![\w.])\d+(\.\d+)?([eE][-+]?\d+)?", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group(0) in _KEYWORDS:
            continue
        names.add(match.group(0))
    return names


def promql_grouping_labels(expr: str) -> set[str]:
    """Label names used in ``by (...)`` / ``without (...)`` clauses."""
    labels: set[str] = set()
    for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
        labels.update(p.strip() for p in group.split(",") if p.strip())
    return labels


def promql_matcher_labels(expr: str) -> dict[str, set[str]]:
    """``{metric: {label, ...}}`` for every ``metric{label=...}`` selector in the expression."""
    out: dict[str, set[str]] = {}
    for metric, body in re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\{([^}]*)\}", expr):
        out.setdefault(metric, set()).update(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", body))
    return out


# --------------------------------------------------------------------------- exposed series


def exposed_series(exposition: str) -> set[str]:
    """Sample names a /metrics text exposes, from its TYPE lines (``*_created`` excluded)."""
    series: set[str] = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", exposition, flags=re.MULTILINE):
        if name.endswith("_created"):
            continue
        if kind == "histogram":
            series.update({f"{name}_bucket", f"{name}_count", f"{name}_sum"})
        else:
            series.add(name)
    return series


def series_labels() -> dict[str, set[str]]:
    """``{sample name: label names}`` for every rotor series (one child per labelled metric)."""
    metrics = Metrics()
    for wrapper in vars(metrics).values():
        if isinstance(wrapper, MetricWrapperBase) and wrapper._labelnames:
            # Creating a child is enough for it to be exposed (with value 0).
            wrapper.labels(*["x"] * len(wrapper._labelnames))
    out: dict[str, set[str]] = {}
    for line in metrics.render().decode().splitlines():
        match = re.match(r"([a-z_:][a-z0-9_:]*)(?:\{([^}]*)\})? ", line)
        if match and not line.startswith("#"):
            labels = set(re.findall(r'(\w+)="', match.group(2) or ""))
            out.setdefault(match.group(1), set()).update(labels)
    return out


# --------------------------------------------------------------------------- systemd / env


def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as ``{section: [(key, value), ...]}`` (repeated keys kept in order)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None, f"{path}:{number}: key outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"{path}:{number}: expected Key=Value"
        current.append((key.strip(), value.strip()))
    return sections


def parse_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines (comments and blanks skipped, no quoting or expansion)."""
    out: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"{path}:{number}: bad line"
        out[key] = value
    return out
