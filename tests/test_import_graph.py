"""The import graph of ``core``, ``admin`` and ``plugins`` is layered (issue 13).

The graph is read from the source with :mod:`ast`, nothing is imported. Every import
counts, at the top of a module or inside a function alike (a function-local import only
hides a circle, it does not break it); only imports under ``if TYPE_CHECKING:`` are
left out, since they are never executed. An import of ``pkg.mod`` is an edge to the
deepest module of the three packages that it names (``from core import audit`` is an
edge to ``core.audit``, ``from core.models import Patient`` one to ``core.models``).

- no circle at all, of any length;
- no import from a lower layer of the core to a higher one (``LAYERS``, pictured in
  docs/architecture.md);
- the core (``core``, ``admin``) imports no plugin;
- a plugin imports its own modules, and of the core only the plugin surface listed in
  docs/plugins.md; never another plugin.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "admin", "plugins")
SURFACE_DOC = ROOT / "docs" / "plugins.md"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the three packages; migrations are scripts Alembic runs, not modules."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.relative_to(ROOT).parts:
                found[_module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from (n for child in node.orelse for n in _imports_in(child))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _imports(node)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    yield from _imports(node)


def import_graph() -> dict[str, dict[str, int]]:
    """``{module: {imported module: line of the first such import}}``."""
    known = modules()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        edges = graph.setdefault(name, {})
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [resolve(alias.name) for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else resolve(base)
                    for alias in node.names
                ]
            for target in targets:
                if target and target != name:
                    edges.setdefault(target, node.lineno)
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One circle ``[a, b, …, a]`` of the graph, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def plugin_surface() -> tuple[str, ...]:
    """The core modules a plugin may import, from the marked list in docs/plugins.md."""
    text = SURFACE_DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- plugin-surface -->(.*?)<!-- /plugin-surface -->", text, re.S)
    assert block, "docs/plugins.md lists the plugin surface between <!-- plugin-surface --> markers"
    return tuple(re.findall(r"^- `([\w.]+)`", block.group(1), re.M))


def _in(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


#: The core's layers, bottom first; a module is in the first layer one of whose names
#: is the module or a package above it. The rest of ``core`` and ``admin`` (pages, API
#: views, sockets, console, commands, the core's own plugin) is layer 3, the app factory
#: and the entry points above it are layer 4.
LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: models and pure helpers
    ("core.markers", "core.models", "core.db", "core.tx", "core.errors", "core.params",
     "core.validators", "core.settings", "core.extensions", "core.storage", "core.s3storage",
     "core.routespec", "core.russian_schema", "core.demo_data", "core.heap",
     "core.socket_context", "core.socket_queue", "core.forms", "core.green", "core.headers",
     "core.i18n", "core.logs", "core.outcomes", "core.participant_roles", "core.wizard_steps",
     "core.sessions", "core.scaffold"),
    # 1: the access policy, the audit log, the plugin manager and the hooks
    ("core.access", "core.audit", "core.plugins", "core.hookspecs"),
    # 2: domain services
    ("core.lifecycle", "core.consultations", "core.consent", "core.registry", "core.registry_csv",
     "core.registry_import", "core.schedule", "core.worklists", "core.documents", "core.presence",
     "core.realtime", "core.menus", "core.routing", "core.routeforms", "core.dictionaries",
     "core.demo", "core.tasks", "core.celery_app", "core.migrating", "core.api.base",
     "core.api.schemas"),
)
TOP = ("core", "core.app", "core.cli", "core.worker", "core.serve", "core.testing")


def layer_of(module: str) -> int | None:
    """The layer of a module of the core (0 to 4), None for a plugin."""
    if module.startswith("plugins"):
        return None
    if module in TOP:
        return len(LAYERS) + 1
    for number, names in enumerate(LAYERS):
        if _in(module, names):
            return number
    return len(LAYERS)


def _describe(graph: dict[str, dict[str, int]], cycle: list[str]) -> str:
    return "\n".join(f"  {a} (line {graph[a][b]}) -> {b}" for a, b in zip(cycle, cycle[1:]))


def test_there_is_no_import_circle():
    graph = import_graph()
    assert len(graph) > 100  # the whole of the three packages was read
    cycle = find_cycle(graph)
    assert cycle is None, "import circle:\n" + _describe(graph, cycle)


def test_no_layer_of_the_core_imports_a_higher_one():
    graph = import_graph()
    assert all(name in graph for names in LAYERS for name in names), "LAYERS names a module that is gone"
    wrong = [
        f"{module}:{line} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, edges in sorted(graph.items())
        if layer_of(module) is not None
        for target, line in edges.items()
        if layer_of(target) is not None and layer_of(target) > layer_of(module)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_core_imports_no_plugin():
    wrong = [
        f"{module}:{line} imports {target}"
        for module, edges in import_graph().items()
        if not module.startswith("plugins")
        for target, line in edges.items()
        if target.startswith("plugins")
    ]
    assert not wrong, "\n".join(wrong)


def test_plugins_import_only_the_plugin_surface():
    surface = plugin_surface()
    assert "core.markers" in surface and "core.models" in surface
    wrong = []
    for module, edges in import_graph().items():
        if not module.startswith("plugins."):
            continue
        own = ".".join(module.split(".")[:2])
        for target, line in edges.items():
            if _in(target, (own,)):
                continue
            if target.startswith("plugins") or not _in(target, surface):
                wrong.append(f"{module}:{line} imports {target}")
    assert not wrong, "outside the plugin surface of docs/plugins.md:\n" + "\n".join(sorted(wrong))


def test_the_check_sees_the_circles_it_is_for():
    """The graph reader finds function-local imports and a circle through them."""
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 1}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    tree = ast.parse("import x\ndef f():\n    from y import z\nif TYPE_CHECKING:\n    import w\n")
    assert [getattr(n, "module", None) or n.names[0].name for n in _imports(tree)] == ["x", "y"]
    assert layer_of("core.models.registry") == 0 and layer_of("core.workplace.views") == 3
    assert layer_of("core.app") == 4 and layer_of("plugins.chat") is None
