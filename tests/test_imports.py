"""The import structure of jndenc: every module imports on its own, product code never imports the
benchmarks, and no two modules import each other in a circle.

The circle check reads the source with `ast` (nothing is imported) and builds a graph of the imports that
run when a module is imported: statements at module level, including inside ``if``/``try``/``with`` and
class bodies (``if TYPE_CHECKING:`` blocks count too: a type-only circle is still a circle in the design).
Imports inside functions are left out: they run later, when called, and are how heavy optional libraries
(TensorFlow, matplotlib, dask) are deferred.

Edges are honest about packages: ``from .pkg import sub`` is an edge to ``pkg.sub`` when ``sub`` is a module
and to ``pkg`` (its ``__init__``) when it is a name defined there. Importing ``pkg.sub`` also runs
``pkg/__init__`` first, but that implicit step is not an edge: a package ``__init__`` that re-exports its
submodules then forms a circle only when one of those submodules imports the package itself back at
module level (``from . import name`` or ``from jndenc import name``), which is a real circle: the submodule
would see a half-initialised package.
"""
from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import jndenc

ROOT = Path(jndenc.__file__).resolve().parent
# where jndenc.bench may be imported from: the benchmark package itself and the `jndenc bench` command
BENCH_USERS = ("jndenc.bench", "jndenc.cli.bench")


# ---------------------------------------------------------------------------- the graph
def module_files(root: Path, package: str) -> dict[str, Path]:
    """Module name -> file, for every .py under ``root`` (a package directory named ``package``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([package, *parts])] = path
    return out


def _is_package(name: str, files: dict[str, Path]) -> bool:
    return name in files and files[name].name == "__init__.py"


def _runs_at_import(tree: ast.Module):
    """Import statements executed when the module is imported (not inside a function body)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        else:
            stack.extend(ast.iter_child_nodes(node))


def _all_imports(tree: ast.Module):
    return (n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))


def imported_modules(name: str, node: ast.Import | ast.ImportFrom, files: dict[str, Path]) -> set[str]:
    """The modules of the tree that ``node`` (in module ``name``) imports, relative imports resolved."""
    if isinstance(node, ast.Import):
        targets = [a.name for a in node.names]
    else:
        if node.level:
            # the package a relative import starts from: the module's own package (itself for an __init__)
            base = name.split(".") if _is_package(name, files) else name.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            src = ".".join(base + ([node.module] if node.module else []))
        else:
            src = node.module or ""
        targets = []
        for alias in node.names:
            sub = f"{src}.{alias.name}"
            # `from pkg import sub` imports the submodule; `from pkg import name` runs pkg/__init__
            targets.append(sub if sub in files else src)
    out = set()
    for t in targets:
        # `import a.b.c` where only a.b is ours (c a name): the nearest module of the tree
        while t and t not in files:
            t = t.rpartition(".")[0]
        if t:
            out.add(t)
    return out


def import_graph(files: dict[str, Path], module_level_only: bool = True) -> dict[str, set[str]]:
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(), str(path))
        nodes = _runs_at_import(tree) if module_level_only else _all_imports(tree)
        graph[name] = set().union(*(imported_modules(name, n, files) for n in nodes)) - {name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path a -> ... -> a) for every back edge a depth-first search meets."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if colour[start] != WHITE:
            continue
        colour[start] = GREY
        path = [start]
        stack = [iter(sorted(graph[start]))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                colour[path.pop()] = BLACK
                stack.pop()
            elif colour.get(nxt, BLACK) == GREY:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif colour.get(nxt) == WHITE:
                colour[nxt] = GREY
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return cycles


# ---------------------------------------------------------------------------- the checker checks itself
def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for rel, text in files.items():
        p = tmp_path / "pkg" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return module_files(tmp_path / "pkg", "pkg")


def test_checker_finds_a_circle_through_relative_imports(tmp_path):
    files = _tree(tmp_path, {"__init__.py": "", "a.py": "from .sub.b import f\n",
                             "sub/__init__.py": "", "sub/b.py": "from .. import a\ndef f(): pass\n"})
    assert find_cycles(import_graph(files)) == [["pkg.a", "pkg.sub.b", "pkg.a"]]


def test_checker_ignores_function_level_imports(tmp_path):
    files = _tree(tmp_path, {"__init__.py": "", "a.py": "from . import b\n",
                             "b.py": "def g():\n    from . import a\n"})
    assert find_cycles(import_graph(files)) == []
    assert "pkg.a" in import_graph(files, module_level_only=False)["pkg.b"]


def test_checker_package_reexport_is_a_circle_only_when_a_submodule_imports_the_package_back(tmp_path):
    base = {"__init__.py": "from .a import f\nfrom .b import g\n", "a.py": "def f(): pass\n",
            "b.py": "from .a import f\ndef g(): pass\n"}
    assert find_cycles(import_graph(_tree(tmp_path / "ok", base))) == []
    back = dict(base, **{"b.py": "from . import f\ndef g(): pass\n"})  # `f` is a name of pkg/__init__
    assert find_cycles(import_graph(_tree(tmp_path / "bad", back))) == [["pkg", "pkg.b", "pkg"]]
    # guarded blocks still run at import time
    guarded = dict(base, **{"b.py": "try:\n    import pkg\nexcept ImportError:\n    pass\n"})
    assert find_cycles(import_graph(_tree(tmp_path / "guarded", guarded))) == [["pkg", "pkg.b", "pkg"]]


# ---------------------------------------------------------------------------- jndenc itself
FILES = module_files(ROOT, "jndenc")


def test_module_list_matches_pkgutil():
    walked = {m.name for m in pkgutil.walk_packages(jndenc.__path__, "jndenc.")} | {"jndenc"}
    assert walked == set(FILES)


def test_no_import_cycle_between_jndenc_modules():
    cycles = find_cycles(import_graph(FILES))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_product_code_never_imports_bench():
    graph = import_graph(FILES, module_level_only=False)  # function-level imports count here
    offenders = {m: sorted(d for d in deps if d == "jndenc.bench" or d.startswith("jndenc.bench."))
                 for m, deps in graph.items()
                 if not any(m == u or m.startswith(u + ".") for u in BENCH_USERS)}
    assert not {m: d for m, d in offenders.items() if d}


_IMPORT_EACH = """
import importlib, json, sys, traceback
failed = {}
for name in json.loads(sys.argv[1]):
    for m in [m for m in sys.modules if m == "jndenc" or m.startswith("jndenc.")]:
        del sys.modules[m]  # jndenc afresh for every module; third-party libraries stay loaded (speed)
    try:
        importlib.import_module(name)
    except BaseException:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps(failed))
"""


def _importable() -> list[str]:
    # __main__ modules run the command line when imported: they are entry points, not libraries
    return sorted(m for m in FILES if m.rpartition(".")[2] != "__main__")


def test_every_module_imports_on_its_own():
    # one fresh interpreter, and for each module every jndenc module is dropped first, so a module that
    # only imports when another was imported before it (an order dependence or a hidden circle) fails here
    r = subprocess.run([sys.executable, "-c", _IMPORT_EACH, json.dumps(_importable())], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    failed = json.loads(r.stdout.strip().splitlines()[-1])
    assert not failed, "\n".join(f"{m}:\n{tb}" for m, tb in failed.items())


@pytest.mark.slow
@pytest.mark.parametrize("name", _importable())
def test_module_imports_in_a_fresh_interpreter(name):
    # the literal check (`python -c "import M"` for each M); slow: about 70 interpreters, some with TensorFlow
    r = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
