"""The runtime's structure (issue #15): the daemon sits on top, nothing below it imports it,
and ``bot/runtime`` has no import cycle, counting lazy and ``TYPE_CHECKING`` imports too."""

from __future__ import annotations

import ast
from pathlib import Path

import bot.runtime

RUNTIME = Path(bot.runtime.__file__).parent


def runtime_imports() -> dict[str, set[str]]:
    """For each module of ``bot/runtime``, the runtime modules it imports anywhere in it."""
    graph: dict[str, set[str]] = {}
    for path in sorted(RUNTIME.glob("*.py")):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found |= {n.split(".")[2] for n in names if n.startswith("bot.runtime.")}
        graph[path.stem] = found - {path.stem}
    return graph


def cycle_from(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path of imports from ``start`` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, set())):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_runtime_module_imports_the_daemon() -> None:
    graph = runtime_imports()
    assert sorted(m for m, deps in graph.items() if "daemon" in deps) == []


def test_the_runtime_has_no_import_cycle() -> None:
    graph = runtime_imports()
    cycles = {m: c for m in graph if (c := cycle_from(graph, m)) is not None}
    assert cycles == {}


def test_the_layers_below_the_runtime_never_import_it() -> None:
    """Venues, execution, risk, signals, the simulator, storage, data and the portfolio layer
    are used by the runtime and never reach up into it or the commands, not even lazily."""
    below = (
        "venues",
        "execution",
        "risk",
        "signals",
        "sim",
        "storage",
        "domain",
        "data",
        "portfolio",
    )
    upward: list[str] = []
    for pkg in below:
        for path in sorted((RUNTIME.parent / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                upward += [
                    f"{path.relative_to(RUNTIME.parent)}: {n}"
                    for n in names
                    if n.startswith(("bot.runtime", "bot.commands", "bot.cli"))
                ]
    assert upward == []
