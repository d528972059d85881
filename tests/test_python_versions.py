"""The ``synthesis`` package stays importable on Python 3.8+, the app on 3.10 (the Sambert worker).

No 3.8–3.10 interpreter exists here, so this is static: vermin (minimum-version checker) over
every file of the package, plus two checks vermin lacks:
* annotations are only exempt where ``from __future__ import annotations`` keeps them
  unevaluated: files without it are checked with --eval-annotations;
* ``ast.parse(feature_version=(3, 8))`` rejects newer syntax (match, parenthesised context
  managers, ...), and ``{…} | {…}`` on a dict display or comprehension (3.9) is flagged
  (vermin only sees the union of two dict literals).
"""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "synthesis"
TARGET = (3, 8)



def vermin() -> str:
    exe = shutil.which("vermin", path=str(Path(sys.executable).parent)) or "vermin"
    return exe


def shown(path: Path) -> str:
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name


def python_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def has_future_annotations(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom) and node.module == "__future__" and any(a.name == "annotations" for a in node.names)
        for node in tree.body
    )


def vermin_findings(files: list[Path], *extra: str, version: tuple[int, int] = TARGET) -> set[tuple[str, str]]:
    if not files:
        return set()
    target = ".".join(map(str, version))
    args = [vermin(), f"-t={target}-", "--no-tips", "--violations", "--format", "parsable", *extra, *map(str, files)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr[-2000:]
    found = set()
    for line in result.stdout.splitlines():
        path, lineno, _col, _py2, py3, feature = line.split(":", 5)
        if path and lineno and feature:  # per-file summary lines have no line number
            found.add((shown(Path(path)), f"{feature} (line {lineno}, needs {py3})"))
    return found


def dict_union_findings(path: Path, tree: ast.Module) -> set[tuple[str, str]]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            operands = (node.left, node.right)
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.BitOr):
            operands = (node.value,)
        else:
            continue
        if any(isinstance(o, (ast.Dict, ast.DictComp)) for o in operands):
            found.add((shown(path), f"dict union (line {node.lineno}, needs 3.9)"))
    return found


def test_vermin_is_installed():
    assert subprocess.run([vermin(), "--version"], capture_output=True, text=True).stdout.strip()


def newer_than(version: tuple[int, int], *folders: Path) -> set[tuple[str, str]]:
    findings: set[tuple[str, str]] = set()
    deferred, evaluated = [], []
    for path in python_files(*folders):
        source = path.read_text(encoding="utf-8")
        try:
            tree = ast.parse(source, filename=str(path), feature_version=version)
        except SyntaxError as exc:
            findings.add((shown(path), f"syntax newer than {version} (line {exc.lineno}): {exc.msg}"))
            continue
        if version < (3, 9):
            findings |= dict_union_findings(path, tree)
        (deferred if has_future_annotations(tree) else evaluated).append(path)
    findings |= vermin_findings(deferred, version=version)
    findings |= vermin_findings(evaluated, "--eval-annotations", version=version)
    return findings


def test_synthesis_package_is_python_38_compatible():
    new = sorted(f"{path}: {what}" for path, what in newer_than(TARGET, PACKAGE))
    assert not new, "needs a Python newer than 3.8:\n" + "\n".join(new)


def test_app_code_runs_on_the_sambert_workers_python_310():
    """The Sambert worker imports the Django app (exhibits, guide_site) on Python 3.10."""
    found = sorted(f"{path}: {what}" for path, what in newer_than((3, 10), ROOT / "exhibits", ROOT / "guide_site"))
    assert not found, "needs a Python newer than 3.10:\n" + "\n".join(found)


def test_the_checks_catch_what_they_claim(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text(
        "x = 'ab'.removeprefix('a')\n"
        "def f(a: list[int]) -> None: ...\n"
        "MERGED = {k: k for k in 'ab'} | {'c': 'c'}\n"
    )
    found = vermin_findings([bad], "--eval-annotations") | dict_union_findings(bad, ast.parse(bad.read_text()))
    text = "\n".join(what for _, what in found)
    assert "str.removeprefix" in text and "list[..]" in text and "dict union" in text
    try:
        ast.parse("match x:\n    case 1: pass\n", feature_version=TARGET)
    except SyntaxError:
        return
    raise AssertionError("ast.parse(feature_version=(3, 8)) accepted a match statement")
