"""The package's floor plan (docs/architecture.md) stays as built: data flows one way through the
layers, no import circles (imports inside functions included), no module past the size limit, and
nothing inside the package goes through the names kept for old import paths."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "skysift"

#: Rank of each top-level part of the package: a module may import only parts of its own rank or
#: lower (same rank: only inside the same part). The order of docs/architecture.md.
LAYERS = {
    "__init__": 0, "errors": 0, "numeric": 0,
    "io": 1,
    "features": 2, "simulate": 2, "splits": 2,
    "model": 3, "benchsets": 3,
    "datasets": 4,
    "evaluate": 5,
    "study": 6,
    "stream": 7, "scale": 7, "cli_model": 7,
    "cli": 8,
}
#: Old import paths, kept for one release: modules that only re-export a moved module.
COMPAT = {"boost", "catalogs", "classifier", "context", "forest", "goto3", "losses", "pretrained", "search",
          "sequences", "stats", "train"}
#: Lines a module may have (the house rule says ~600).
MAX_LINES = 650


def _modules() -> dict[str, Path]:
    mods = {}
    for p in PACKAGE.rglob("*.py"):
        name = ".".join(("skysift",) + p.relative_to(PACKAGE).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = p
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Every skysift module ``name`` imports (at module level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(pkg[: len(pkg) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in mods:
                t = t.rpartition(".")[0]
            if t and t != name and not name.startswith(t + "."):  # a package's own __init__ is no arrow
                out.add(t)
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, mods) for m, p in mods.items()}


def test_every_part_of_the_package_has_a_layer():
    parts = {_part(m) for m in _modules()} - COMPAT
    assert parts <= set(LAYERS), f"add {sorted(parts - set(LAYERS))} to LAYERS and docs/architecture.md"


def test_imports_flow_down_the_layers():
    bad = []
    for mod, targets in _graph().items():
        src = _part(mod)
        if src in COMPAT:
            continue
        for t in targets:
            dst = _part(t)
            if dst in COMPAT:
                bad.append(f"{mod} imports the old path {t}")
            elif LAYERS[dst] > LAYERS[src] or (LAYERS[dst] == LAYERS[src] and dst != src):
                bad.append(f"{mod} ({src}, layer {LAYERS[src]}) imports {t} ({dst}, layer {LAYERS[dst]})")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_circles():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    circles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


def test_no_module_is_too_long():
    long = {str(p.relative_to(PACKAGE)): n for p in _modules().values()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_old_import_paths_are_the_moved_modules():
    import importlib

    for old, new in (("skysift.classifier", "skysift.model.estimator"), ("skysift.stats", "skysift.features.statistics"),
                     ("skysift.context", "skysift.features.context"), ("skysift.stream.incremental", "skysift.model.online")):
        assert importlib.import_module(old) is importlib.import_module(new)
