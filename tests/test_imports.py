"""The package's import structure: every module imports on its own, and subpackages form no cycle."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "reelrec"

# Import edges allowed between subpackages despite forming a cycle (none: keep it empty).
ALLOWED_EDGES: set[tuple[str, str]] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> list[str]:
    return sorted(_module_name(p) for p in PACKAGE.rglob("*.py"))


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``: annotations only, never run, so never part of a cycle."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(sub) for sub in ast.walk(node))
    return out


def _imports(path: Path) -> set[str]:
    """Absolute ``reelrec`` modules imported anywhere in the file (function bodies included)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_nodes(tree)
    known = set(_modules())
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            # `from reelrec.x import y` imports the module reelrec.x.y when there is one.
            found.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known)
    return {m for m in found if m in known}


def _subpackage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (PACKAGE / parts[-1]).is_dir() else "<top>"


def subpackage_graph() -> dict[str, set[str]]:
    """Edges between reelrec's subpackages (``models -> data`` ...), less :data:`ALLOWED_EDGES`."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        src = _module_name(path)
        for dst in _imports(path):
            if (src, dst) in ALLOWED_EDGES or any(dst.startswith(b + ".") for a, b in ALLOWED_EDGES if a == src):
                continue
            a, b = _subpackage(src), _subpackage(dst)
            if a != b and "<top>" not in (a, b):
                graph[a].add(b)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or ``None`` when it is acyclic."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_sees_a_cycle_and_a_dag() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}}) is None


def test_subpackages_import_each_other_without_cycles() -> None:
    graph = subpackage_graph()
    assert graph["models"] >= {"data"}, "the scan found none of the models' imports"
    assert find_cycle(graph) is None, f"import cycle between subpackages: {' -> '.join(find_cycle(graph) or [])}"


def test_the_artifact_layer_does_not_import_the_models() -> None:
    assert "models" not in subpackage_graph()["artifacts"]


# Third-party libraries are imported once in a parent process that then forks one child per module, so
# each child imports exactly one reelrec module into a process holding no other reelrec module: an import
# that works only after another reelrec module was loaded fails there, as under `python -c "import m"`,
# at a fraction of the cost of starting (and importing torch in) one interpreter per module.
_CHILD = r"""
import importlib, os, sys, traceback
third_party = sys.argv[1].split(",")
for name in third_party:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
failed, running = [], {}
modules = sys.argv[2].split(",")
while modules or running:
    # One child per CPU at a time: each child is independent, so they may run side by side.
    while modules and len(running) < (os.cpu_count() or 1):
        module = modules.pop()
        pid = os.fork()
        if pid == 0:
            try:
                importlib.import_module(module)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        running[pid] = module
    pid, status = os.wait()
    if status:
        failed.append(running[pid])
    del running[pid]
print("FAILED:" + ",".join(failed))
"""


def _third_party() -> list[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    # Submodules too (scipy.stats, torch.distributed): importing a package's root loads few of them.
    return sorted(n for n in names if n.split(".")[0] not in ("reelrec", *sys.stdlib_module_names))


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_every_module_imports_on_its_own() -> None:
    modules = _modules()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, ",".join(_third_party()), ",".join(modules)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    failed = run.stdout.strip().rpartition("FAILED:")[2]
    assert not failed, f"modules that fail to import on their own: {failed}\n{run.stderr[-4000:]}"
    assert len(modules) > 100
