"""Prometheus config, alert rules and the Grafana dashboard reference only what rotor exposes."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

from bot.domain import TradingState

from .conftest import RunningControl
from .deployfiles import (
    DEPLOY,
    exposed_series,
    load_yaml,
    promql_grouping_labels,
    promql_matcher_labels,
    promql_metrics,
    series_labels,
)

PROMETHEUS_BUILTINS = {"up"}
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "rotor.json"


@pytest.fixture(scope="module")
def labels() -> dict[str, set[str]]:
    return series_labels()


@pytest.fixture
def live_series(control: RunningControl) -> tuple[set[str], str]:
    """Series names from a real /metrics answer, and the raw text."""
    control.metrics.orders.labels(status="FILLED").inc()
    control.metrics.cycle_latency.observe(0.042)
    with urllib.request.urlopen(control.url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    return exposed_series(text), text


@pytest.fixture(scope="module")
def compose_rotor_port() -> int:
    """The container-side control port the compose file publishes for rotor."""
    compose = load_yaml(DEPLOY / "docker-compose.yml")
    (port,) = compose["services"]["rotor"]["ports"]
    return int(port.rsplit(":", 1)[1])


def keep_regex() -> str:
    prom = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    (job,) = prom["scrape_configs"]
    (keep,) = [r for r in job["metric_relabel_configs"] if r["action"] == "keep"]
    assert keep["source_labels"] == ["__name__"]
    return str(keep["regex"])


def test_prometheus_scrapes_rotor(compose_rotor_port: int) -> None:
    prom = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    (job,) = prom["scrape_configs"]
    assert job["job_name"] == "rotor" and job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == [f"rotor:{compose_rotor_port}"]
    assert prom["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_keep_list_is_exactly_what_metrics_exposes(live_series: tuple[set[str], str]) -> None:
    series, text = live_series
    regex = keep_regex()
    match = re.fullmatch(r"rotor_\((.*)\)", regex)
    assert match, regex
    listed = {f"rotor_{name}" for name in match.group(1).split("|")}
    assert listed == series, (
        f"update deploy/prometheus/prometheus.yml: missing {sorted(series - listed)}, "
        f"unknown {sorted(listed - series)}"
    )
    # Every real sample line survives the keep rule, except the counters' *_created series.
    samples = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}
    dropped = {s for s in samples if not re.fullmatch(regex, s)}
    assert dropped and all(s.endswith("_created") for s in dropped), dropped


def _rules() -> list[dict[str, Any]]:
    alerts = load_yaml(DEPLOY / "prometheus" / "alerts.yml")
    return [rule for group in alerts["groups"] for rule in group["rules"]]


def test_alert_rules_cover_the_required_conditions() -> None:
    rules = {r["alert"]: r for r in _rules()}
    expr = {name: r["expr"] for name, r in rules.items()}
    assert 'rotor_trading_state{state="HALTED"} == 1' in expr["RotorHalted"]
    assert 'rotor_trading_state{state="REDUCING"} == 1' in expr["RotorReducing"]
    assert "rotor_data_age_seconds" in expr["RotorTickerDataStale"]
    assert "rotor_data_age_seconds" in expr["RotorBarDataStale"]
    assert "rotor_venue_errors_total" in expr["RotorVenueErrorRate"]
    assert "rotor_reconciliation_discrepancies_total" in expr["RotorReconciliationDiscrepancy"]
    assert "rotor_drawdown_ratio" in expr["RotorDrawdown"]
    assert "rotor_last_cycle_timestamp_seconds" in expr["RotorNoCycle"]
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"page", "warning"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name


def _check_expr(where: str, expr: str, series: set[str], labels: dict[str, set[str]]) -> None:
    names = promql_metrics(expr)
    assert names, f"{where}: no metric in {expr!r}"
    unknown = names - series - PROMETHEUS_BUILTINS
    assert not unknown, f"{where}: unknown metrics {unknown} in {expr!r}"
    rotor_names = names - PROMETHEUS_BUILTINS
    available = set().union(*(labels[n] for n in rotor_names)) if rotor_names else set()
    grouping = promql_grouping_labels(expr) - {"le"}
    assert grouping <= available, f"{where}: {grouping - available} not a label of {names}"
    for metric, used in promql_matcher_labels(expr).items():
        if metric in PROMETHEUS_BUILTINS:
            continue
        assert used <= labels[metric], f"{where}: {metric} has no label {used - labels[metric]}"
    for state in re.findall(r'state="(\w+)"', expr):
        assert state in {s.value for s in TradingState}, f"{where}: no state {state}"


def test_alert_expressions_use_only_real_metrics(
    live_series: tuple[set[str], str], labels: dict[str, set[str]]
) -> None:
    for rule in _rules():
        _check_expr(rule["alert"], rule["expr"], live_series[0], labels)


def test_dashboard_references_only_real_metrics(
    live_series: tuple[set[str], str], labels: dict[str, set[str]]
) -> None:
    dash = json.loads(DASHBOARD.read_text())
    used: set[str] = set()
    for panel in dash["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            _check_expr(panel["title"], target["expr"], live_series[0], labels)
            used |= promql_metrics(target["expr"])
    # The required views: equity and drawdown, exposure and open risk by sector, orders
    # and rejections by reason, cycle latency, data age, venue errors, trading state.
    required = {
        "rotor_equity_usdt",
        "rotor_drawdown_ratio",
        "rotor_exposure_usdt",
        "rotor_open_risk_usdt",
        "rotor_orders_total",
        "rotor_risk_rejections_total",
        "rotor_cycle_latency_seconds_bucket",
        "rotor_data_age_seconds",
        "rotor_venue_errors_total",
        "rotor_trading_state",
    }
    assert required <= used, required - used
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p["targets"])
    for grouping in ("by (sector)", "by (reason)", "by (status)", "by (type)"):
        assert grouping in exprs


def test_dashboard_layout_and_datasource() -> None:
    dash = json.loads(DASHBOARD.read_text())
    datasource = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    (ds,) = datasource["datasources"]
    assert ds["url"] == "http://prometheus:9090" and ds["type"] == "prometheus"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in dash["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": ds["uid"]}, panel["title"]
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        area = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not area & cells, f"{panel['title']} overlaps another panel"
        cells |= area
    provider = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "rotor.yml")
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
