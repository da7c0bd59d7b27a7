"""Packaging: every import in src/ is a declared dependency, and optional parts stay optional (issue 13)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from reelrec._extras import EXTRAS, MissingExtraError, require_extra

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "reelrec"
# Distributions whose import name differs from their name on the package index.
IMPORT_NAME = {"faiss-cpu": "faiss"}
OPTIONAL = ("fastapi", "starlette", "anyio", "uvicorn", "prometheus_client", "faiss", "matplotlib")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _import_name(requirement: str) -> str:
    dist = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
    return IMPORT_NAME.get(dist, dist.replace("-", "_").lower())


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = _pyproject()["project"]
    core = {_import_name(r) for r in project["dependencies"]}
    extras = {
        name: {_import_name(r) for r in reqs if not r.startswith("reelrec")}
        for name, reqs in project["optional-dependencies"].items()
    }
    return core, extras


def _imported() -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere in src/ -> the files importing them."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top != "reelrec" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_import_in_src_is_declared():
    core, extras = _declared()
    declared = core.union(*extras.values())
    undeclared = {name: sorted(files) for name, files in _imported().items() if name not in declared}
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_extras_match_what_the_code_checks_for():
    _, extras = _declared()
    for extra, modules in EXTRAS.items():
        assert set(modules) <= extras[extra], f"reelrec[{extra}] lacks {set(modules) - extras[extra]}"
    assert extras["all"] == set()  # `all` only names the other extras
    assert set(_pyproject()["project"]["optional-dependencies"]["all"]) == {"reelrec[serve,ann,report]"}
    assert "reelrec[all]" in _pyproject()["project"]["optional-dependencies"]["dev"]


def test_torch_is_a_range_and_the_exact_pin_lives_in_the_constraints():
    torch_req = [r for r in _pyproject()["project"]["dependencies"] if r.startswith("torch")]
    assert torch_req == ["torch>=2.13"]
    assert "torch==2.13.0" in (ROOT / "constraints.txt").read_text().splitlines()


def test_a_missing_extra_names_the_pip_install(monkeypatch):
    monkeypatch.setitem(EXTRAS, "serve", ("reelrec_no_such_module_a", "json", "reelrec_no_such_module_b"))
    with pytest.raises(MissingExtraError) as info:
        require_extra("serve", "the service")
    message = str(info.value)
    assert message == (
        "the service needs the optional packages reelrec_no_such_module_a, reelrec_no_such_module_b: "
        "pip install 'reelrec[serve]'"
    )
    assert isinstance(info.value, ImportError)  # callers catching ImportError still see it


# Run reelrec in a child where the optional packages cannot be imported (a None entry in sys.modules
# makes both `import` and `find_spec` treat the module as absent), as in a core install.
_WITHOUT_EXTRAS = """
import sys
for name in {optional!r}:
    sys.modules[name] = None
{body}
"""


def _run_without_extras(body: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    code = _WITHOUT_EXTRAS.format(optional=OPTIONAL, body=body)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)


def test_core_modules_import_without_the_optional_packages():
    body = f"""
import reelrec.artifacts, reelrec.bench, reelrec.cli, reelrec.data, reelrec.eval, reelrec.models
import reelrec.pipeline, reelrec.scale, reelrec.synth, reelrec.training
loaded = sorted(n for n in {OPTIONAL!r} if sys.modules.get(n) is not None)
print("loaded:", loaded)
"""
    done = _run_without_extras(body)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "loaded: []" in done.stdout


@pytest.mark.parametrize(
    ("argv", "extra"),
    [(["serve", "{tmp}"], "serve"), (["demo", "--report", "--scale", "0.003", "--out", "{tmp}/demo"], "report")],
)
def test_cli_without_an_extra_prints_one_line_and_exits_2(tmp_path, argv, extra):
    body = "from reelrec.cli import main\nmain(sys.argv[1:])"
    done = _run_without_extras(body, *(a.format(tmp=tmp_path) for a in argv))
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert f"pip install 'reelrec[{extra}]'" in lines[0]
    assert not (tmp_path / "demo").exists()  # refused before any work
