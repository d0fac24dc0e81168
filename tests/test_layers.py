"""The tree is the architecture: each distribution imports only what its layer allows.

Every import is read from the source (module level and inside functions alike), so a lazy
import of torch in the client fails here just as a top-level one would.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {  # import package -> folder holding it
    "stashtag_core": ROOT / "core" / "stashtag_core",
    "stashtag_client": ROOT / "client" / "stashtag_client",
    "stashtag_export": ROOT / "export" / "stashtag_export",
    "stashtag": ROOT / "stashtag",
}
# Third-party imports each light distribution may make (one line per declared dependency).
CLIENT_THIRD_PARTY = {
    "grpc",  # grpcio
    "numpy",
    "yaml",  # pyyaml
    "rich",
    "typer",
    "google",  # protobuf
    "rapidfuzz",
    "faiss",  # faiss-cpu
    "requests",
    "stashapi",  # stashapp-tools
    "av",  # [video]
    "PIL",  # [video]
}
# Inside the client: a module may import its own layer or a lower one, never a higher one.
CLIENT_LAYERS = {
    "store": 0,
    "store_schema": 0,
    "scene_index": 0,
    "frames": 0,
    "inference": 1,
    "tagging": 2,
    "session": 3,
    "setting_values": 0,
    "setting_forms": 0,
    "settings": 0,  # a leaf: declares and parses; `wiring` builds what settings configure
    "wiring": 4,
    "stash": 5,
    "directory": 5,
    "cli": 6,
}


def _module_name(package: str, path: Path) -> str:
    rel = path.relative_to(PACKAGES[package]).with_suffix("")
    parts = [package, *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(source: str, module: str, is_package: bool = False) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing module's package
                parts = module.split(".")
                base = parts[: len(parts) - node.level + (1 if is_package else 0)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module
            found.add(name)
            # `from pkg import submodule` imports the submodule too
            found.update(f"{name}.{a.name}" for a in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    graph = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            module = _module_name(package, path)
            graph[module] = _imports(path.read_text(), module, path.name == "__init__.py")
    return graph


GRAPH = _graph()


def _top(name: str) -> str:
    return name.split(".")[0]


def _violations(prefix: str, allowed) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module, names in GRAPH.items()
        if module == prefix or module.startswith(prefix + ".")
        for name in names
        if not allowed(module, name)
    )


def test_core_is_pure_python():
    def allowed(module, name):
        return _top(name) == "stashtag_core" or _top(name) in sys.stdlib_module_names

    assert _violations("stashtag_core", allowed) == []


def _client_layer(name: str) -> int | None:
    parts = name.split(".")
    return CLIENT_LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_every_client_module_has_a_layer():
    modules = {m.split(".")[1] for m in GRAPH if m.startswith("stashtag_client.")}
    assert modules - set(CLIENT_LAYERS) == set()


def test_client_imports_no_server_export_or_heavy_package():
    def allowed(module, name):
        top = _top(name)
        if top in {"stashtag_core", *CLIENT_THIRD_PARTY} or top in sys.stdlib_module_names:
            return True
        if top != "stashtag_client":
            return False
        mine, theirs = _client_layer(module), _client_layer(name)
        return mine is None or theirs is None or theirs <= mine

    assert _violations("stashtag_client", allowed) == []


def test_settings_are_a_leaf_read_only_from_the_wiring_layer_up():
    """Settings declare and parse; the layers below the wiring get plain values, never them."""
    settings = {"stashtag_client.settings"}
    floor = CLIENT_LAYERS["wiring"]
    leaks = sorted(
        f"{module} imports {name}"
        for module, names in GRAPH.items()
        if module.startswith("stashtag_client.") and module not in settings
        if (_client_layer(module) or 0) < floor
        for name in names
        if name in settings
    )
    assert leaks == []
    own = {n for n in GRAPH["stashtag_client.settings"] if n.startswith("stashtag_client.")}
    assert {_client_layer(n) for n in own} <= {0}, "a leaf: only value parsing below it"


def test_export_imports_no_client_or_server():
    def allowed(module, name):
        return _top(name) not in {"stashtag_client", "stashtag"}

    assert _violations("stashtag_export", allowed) == []


@pytest.mark.parametrize("area", ["stashtag.serving", "stashtag.processing"])
def test_serving_imports_neither_client_nor_export(area):
    def allowed(module, name):
        if _top(name) in {"stashtag_client", "stashtag_export"}:
            return False
        return _top(name) != "stashtag" or name.startswith(
            ("stashtag.serving", "stashtag.processing")
        )

    assert _violations(area, allowed) == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    edges = defaultdict(set)
    for module, names in graph.items():
        edges[module] = {n for n in names if n in graph and n != module}

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    # A package's __init__ importing its own submodules (to register them) is not a cycle
    # of the architecture: leave package → own-submodule edges out.
    graph = {m: {n for n in names if not n.startswith(m + ".")} for m, names in GRAPH.items()}
    assert _cycles(graph) == []


def test_the_checks_see_a_violation():
    """The walker is not blind: a client module importing torch or the server is caught."""
    source = "import torch\n\ndef f():\n    from stashtag.repo.contents import specs_for\n"
    found = _imports(source, "stashtag_client.frames.probe")
    assert {"torch", "stashtag.repo.contents"} <= found
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
