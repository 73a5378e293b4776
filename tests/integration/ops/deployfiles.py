"""Readers for the deploy artefacts, on well-kept parsers: PyYAML for compose/Prometheus/Grafana
files, dockerfile-parse for Dockerfiles, configparser for the systemd unit, prometheus_client's
own parser for /metrics. Used by the ops tests only."""

from __future__ import annotations

import configparser
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from bot.observability.metrics import Metrics

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def load_yaml(path: Path) -> Any:
    """A YAML file, parsed by PyYAML's safe loader."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- Dockerfile


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction (continuations joined by dockerfile-parse)."""

    keyword: str
    value: str

    def exec_form(self) -> list[str]:
        """The JSON array of an exec-form ENTRYPOINT/CMD/HEALTHCHECK CMD (error if shell form)."""
        text = self.value
        if self.keyword == "HEALTHCHECK":
            text = text.split(" CMD ", 1)[1].strip() if " CMD " in f" {text}" else ""
        value = json.loads(text)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value


@dataclass
class Stage:
    """A build stage: its FROM line and instructions."""

    image: str
    alias: str | None
    instructions: list[Instruction]

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def dockerfile(path: Path, build_args: dict[str, str] | None = None) -> DockerfileParser:
    """dockerfile-parse's view of ``path`` (ARG/ENV substitution on)."""
    parser = DockerfileParser(str(path), env_replace=True, build_args=build_args or {})
    parser.content  # noqa: B018 - read now, so a missing file fails here
    return parser


def stages(parser: DockerfileParser) -> list[Stage]:
    """The stages of a parsed Dockerfile, FROM images with global ARGs substituted."""
    out: list[Stage] = []
    images = iter(parser.parent_images)
    for item in parser.structure:
        keyword = item["instruction"]
        if keyword == "FROM":
            words = item["value"].split()
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            out.append(Stage(next(images), alias, []))
        elif out and keyword != "COMMENT":
            out[-1].instructions.append(Instruction(keyword, item["value"]))
    return out


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
    """Sample names a /metrics text exposes, labelled families without children included
    (``*_created`` excluded)."""
    suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",)}
    return {
        family.name + suffix
        for family in text_string_to_metric_families(exposition)
        for suffix in suffixes.get(family.type, ("",))
        if not family.name.endswith("_created")
    }


def series_labels() -> dict[str, set[str]]:
    """``{sample name: label names}`` for every rotor series (one child per labelled metric)."""
    metrics = Metrics()
    for wrapper in vars(metrics).values():
        if isinstance(wrapper, MetricWrapperBase) and wrapper._labelnames:
            # Creating a child is enough for it to be exposed (with value 0).
            wrapper.labels(*["x"] * len(wrapper._labelnames))
    out: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            out.setdefault(sample.name, set()).update(sample.labels)
    return out


# --------------------------------------------------------------------------- systemd / env


def parse_unit(path: Path) -> configparser.ConfigParser:
    """A systemd unit (INI syntax; keys keep their case, values are not interpolated). A key
    systemd accumulates (``SystemCallFilter=`` twice) keeps its last value here; the tests read
    single-valued keys, and ``systemd-analyze verify`` checks the whole file where installed."""
    unit = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(path.read_text(encoding="utf-8"), source=str(path))
    return unit


def parse_env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an env file as compose and systemd read them (no quoting used)."""
    out: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"{path}:{number}: bad line"
        out[key] = value
    return out
