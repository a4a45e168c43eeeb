"""Layers import downward only (docs/architecture.md): a lower layer importing a higher one fails here."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "netbox_pipeline"

# module prefix -> layer; the longest matching prefix decides.
LAYERS = {
    "values": "values",
    "model": "model",
    "netbox": "netbox",
    "sources": "sources",
    "reconcile": "reconcile",
    "staging": "staging",
    "config": "config",
    "stages": "stages",
    "sandbox": "sandbox",
    "defs": "shell", "cli": "shell", "runner": "shell", "demo": "shell", "bench": "shell", "benchmarks": "shell",
    "definitions": "shell",
    "assistant": "shell", "exporter": "shell", "failures": "shell",
}
# What each layer may import besides itself.
ALLOWED = {
    "values": set(),
    "model": {"values"},
    "netbox": {"values", "model"},
    "sources": {"values", "model"},
    "reconcile": {"values", "model", "netbox.schema", "netbox.items"},
    "staging": {"values"},
    "config": {"values", "model", "sources"},
    "stages": {"values", "model", "netbox", "sources", "reconcile", "staging", "config"},
    "sandbox": {"values", "model"},
    "shell": {"values", "model", "netbox", "sources", "reconcile", "staging", "config", "stages", "sandbox"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    return LAYERS[module.split(".", 1)[0]] if module else "package"


def is_module(name: str) -> bool:
    """Whether `name` (without the package prefix) is a module or package of the project."""
    path = PACKAGE.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module inside the package) for every import, function-level ones included."""
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")


def imports_in(text: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """The project modules `text`, the source of `module`, imports.

    `from netbox_pipeline import config` (or `from .. import config`) names the module in the
    imported name, not in the `from` part: a name that is a module of the project counts as one.
    """
    tree = ast.parse(text)
    here = module.split(".") if module else []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join([*base, node.module] if node.module else base)
                origin = f"netbox_pipeline.{origin}" if origin else "netbox_pipeline"
            else:
                origin = node.module or ""
            inside = origin.startswith("netbox_pipeline")
            modules = [f"{origin}.{alias.name}" for alias in node.names
                       if inside and is_module(_inside(f"{origin}.{alias.name}"))]
            # A name that is not a module comes from `origin` itself.
            names = modules + ([origin] if len(modules) < len(node.names) else [])
        else:
            continue
        for name in names:
            if name.startswith("netbox_pipeline."):
                found.append((node.lineno, _inside(name)))
    return found


def _inside(name: str) -> str:
    return name.removeprefix("netbox_pipeline").removeprefix(".")


def allowed(source: str, target: str) -> bool:
    layer, other = layer_of(source), layer_of(target)
    if layer == other:
        return True
    rules = ALLOWED[layer]
    return other in rules or any(target == r or target.startswith(r + ".") for r in rules)


# Alembic's migration scripts are the staging layer's own; the package root holds no code.
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts and module_name(p))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_lower_layers(path):
    source = module_name(path)
    wrong = [f"line {line}: {source} ({layer_of(source)}) imports {target} ({layer_of(target)})"
             for line, target in imports_of(path) if not allowed(source, target)]
    assert wrong == []


def test_the_checker_catches_an_upward_import(tmp_path):
    # netbox/ must never import reconcile/: the rule the refactor was for.
    assert not allowed("netbox.apply", "reconcile.plan")
    assert not allowed("values", "model")
    assert not allowed("sources.nmap", "config")
    assert allowed("reconcile.plan", "netbox.schema") and not allowed("reconcile.plan", "netbox.client")


@pytest.mark.parametrize("statement", [
    "from netbox_pipeline import config",
    "from netbox_pipeline import values, config",
    "from .. import config",
    "from netbox_pipeline.config import PipelineConfig",
    "import netbox_pipeline.config",
    "def later():\n    from netbox_pipeline import config",
])
def test_the_checker_sees_a_module_named_after_import(statement):
    imported = [target for _, target in imports_in(statement, "reconcile.merge")]
    assert "config" in imported
    assert not all(allowed("reconcile.merge", target) for target in imported)


def test_a_name_from_a_package_is_that_module_when_it_is_one():
    assert [t for _, t in imports_in("from netbox_pipeline.netbox import schema", "reconcile.desired")] == ["netbox.schema"]
    assert [t for _, t in imports_in("from . import base", "sources", is_package=True)] == ["sources.base"]
    assert [t for _, t in imports_in("from .contract import SourceKind", "sources.nmap")] == ["sources.contract"]
    assert [t for _, t in imports_in("from netbox_pipeline.sources import SOURCES, documents", "config")] == [
        "sources.documents", "sources"]
    assert allowed("reconcile.desired", "netbox.schema")


def test_every_top_level_module_has_a_layer():
    tops = {module_name(p).split(".", 1)[0] for p in PACKAGE.rglob("*.py") if module_name(p)}
    assert tops - set(LAYERS) == set()
