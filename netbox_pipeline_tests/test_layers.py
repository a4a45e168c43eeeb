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


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module inside the package) for every import, function-level ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
                names = [f"netbox_pipeline.{target}"]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            if name.startswith("netbox_pipeline."):
                found.append((node.lineno, name.removeprefix("netbox_pipeline.")))
    return found


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


def test_every_top_level_module_has_a_layer():
    tops = {module_name(p).split(".", 1)[0] for p in PACKAGE.rglob("*.py") if module_name(p)}
    assert tops - set(LAYERS) == set()
