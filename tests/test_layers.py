"""The layout rules of the developers' guide, checked on the source: each layer
imports only the layers below it, only ``devicex/sources`` imports the image
libraries, and no two modules import each other (directly or round a cycle)."""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("devicex", "pipelines", "parsers", "reports", "cli")
IMAGE_LIBRARIES = {"pytsk3", "pyewf"}

# layer -> top-level packages (of ours or third-party) it must never import
FORBIDDEN = {
    "devicex": {"pipelines", "parsers", "reports", "cli"},
    "pipelines": {"reports", "cli"} | IMAGE_LIBRARIES,
    "parsers": {"pipelines", "reports", "cli"} | IMAGE_LIBRARIES,
    "reports": {"pipelines", "cli", "parsers"} | IMAGE_LIBRARIES,
    "cli": IMAGE_LIBRARIES,
}
# ``python3 -m devicex`` starts the command line: the one place the core names the top layer
ENTRY_SHIMS = {"devicex.__main__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module ``name`` imports, anywhere in its body (a function-level import is still a dependency)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_layers_import_only_downwards() -> None:
    wrong = []
    for name, imported in _graph().items():
        if name in ENTRY_SHIMS:
            continue
        layer = name.split(".")[0]
        for target in sorted(imported):
            top = target.split(".")[0]
            if top in FORBIDDEN[layer] and not (top in IMAGE_LIBRARIES and name.startswith("devicex.sources")):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_only_sources_import_image_libraries() -> None:
    users = sorted(n for n, imported in _graph().items() if {t.split(".")[0] for t in imported} & IMAGE_LIBRARIES)
    assert users and all(n.startswith("devicex.sources.") for n in users), users


def test_no_import_cycles() -> None:
    graph = _graph()
    edges = {n: {t for t in targets if t in graph and t != n} for n, targets in graph.items()}
    # a package's __init__ importing its own submodules is how a package is put together, not a cycle
    for n, targets in edges.items():
        if (REPO / Path(*n.split(".")) / "__init__.py").exists():
            edges[n] = {t for t in targets if not t.startswith(n + ".")}
    cycles = _strongly_connected(edges)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def _strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_checks_see_a_cycle_and_a_wrong_import() -> None:
    """The checks themselves: a made-up cycle and a made-up upward import are caught."""
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _strongly_connected({"a": {"b"}, "b": set()}) == []
    graph = _graph()
    assert "devicex.sources.image" in graph and "pytsk3" in graph["devicex.sources.image"]
