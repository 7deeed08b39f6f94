"""The package's layout rules (docs/design.md): no import cycle, no private name imported
from another module, no module longer than a reader can hold (about 700 lines) unless it is
one cohesive algorithm named here with the reason."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "consortia"
MOST_LINES = 700
# Modules allowed past MOST_LINES, each one algorithm that reads best whole.
COHESIVE: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def resolved(name: str, node: ast.ImportFrom) -> str:
    """The absolute module a `from … import` names."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package(name) else name.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(name: str) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every import inside the package,
    at module level or inside functions."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = resolved(name, node)
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in MODULES:
                    found.append((submodule, None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
    return [(module, what, line) for module, what, line in found if module in MODULES]


def import_graph() -> dict[str, set[str]]:
    return {name: {module for module, _, _ in imports(name)} - {name} for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def within_package(importer: str, module: str) -> bool:
    """A package's __init__ may re-export its own modules' names."""
    return is_package(importer) and module.startswith(importer + ".")


def test_no_import_cycle():
    graph = {
        name: {m for m in targets if not within_package(name, m) and not within_package(m, name)}
        for name, targets in import_graph().items()
    }
    assert cycles(graph) == []


def test_no_private_name_is_imported_from_another_module():
    crossings = [
        f"{name}:{line} imports {what} from {module}"
        for name in MODULES
        for module, what, line in imports(name)
        if what and what.startswith("_") and not what.startswith("__")
    ]
    assert crossings == []


def test_no_module_is_longer_than_a_reader_can_hold():
    long = {
        name: lines
        for name, path in MODULES.items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MOST_LINES
        and name not in COHESIVE
    }
    assert long == {}


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
